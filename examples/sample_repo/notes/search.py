"""A word-level inverted index over stored notes, with tag filtering."""

from __future__ import annotations

import re
from collections import defaultdict

from notes.markdown import slugify
from notes.storage import Note, NoteStore

_WORD = re.compile(r"[a-z0-9]{2,}")


def normalize_tag(tag: str) -> str:
    """Canonical spelling of a tag so that "Road Trip" and "road-trip" match."""
    return slugify(tag, max_length=32)


def tokenize(text: str) -> list[str]:
    """Lowercase a text and pull out the words of two or more letters or digits."""
    return _WORD.findall(text.lower())


def build_index(store: NoteStore) -> dict[str, set[str]]:
    """Map every word of every note (title, body and tags) to the slugs containing it."""
    index: dict[str, set[str]] = defaultdict(set)
    for note in store.all_notes():
        words = tokenize(note.title) + tokenize(note.body)
        words += [normalize_tag(tag) for tag in note.tags]
        for word in words:
            index[word].add(note.slug)
    return dict(index)


def search_notes(index: dict[str, set[str]], query: str) -> list[str]:
    """Return the slugs that contain all words of the query, best-known first (alphabetical)."""
    terms = tokenize(query)
    if not terms:
        return []
    hits = set(index.get(terms[0], set()))
    for term in terms[1:]:
        hits &= index.get(term, set())
    return sorted(hits)


def notes_with_tag(notes: list[Note], tag: str) -> list[Note]:
    """Filter a list of notes down to the ones carrying the given tag (any spelling)."""
    wanted = normalize_tag(tag)
    return [n for n in notes if wanted in {normalize_tag(t) for t in n.tags}]
