"""A tiny notes app: write Markdown notes, keep them on disk, publish them as HTML."""

from notes.markdown import render_markdown, slugify

__all__ = ["render_markdown", "slugify"]
__version__ = "0.3.1"
