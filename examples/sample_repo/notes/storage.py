"""Persist notes as JSON files in a directory, with an activity log that rotates itself."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from notes.config import Settings, load_settings, max_log_bytes
from notes.markdown import slugify


@dataclass
class Note:
    """One note: a title, a Markdown body and optional tags."""

    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    @property
    def slug(self) -> str:
        """The file-name-safe identifier derived from the title."""
        return slugify(self.title)


def rotate_log_if_needed(log_path: Path, limit: int, backups: int = 3) -> bool:
    """Shift ``notes.log`` -> ``notes.log.1`` -> ``notes.log.2`` once the file is too big.

    The oldest backup beyond ``backups`` is discarded. Returns True when a rotation
    happened, False when the log was still under ``limit`` bytes (or did not exist).
    """
    if not log_path.exists() or log_path.stat().st_size < limit:
        return False
    oldest = log_path.with_name(f"{log_path.name}.{backups}")
    if oldest.exists():
        oldest.unlink()
    for generation in range(backups - 1, 0, -1):
        src = log_path.with_name(f"{log_path.name}.{generation}")
        if src.exists():
            src.rename(log_path.with_name(f"{log_path.name}.{generation + 1}"))
    log_path.rename(log_path.with_name(f"{log_path.name}.1"))
    return True


class NoteStore:
    """A directory of notes, one JSON document per note, keyed by slug."""

    def __init__(self, root: str | Path | None = None, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self.root = Path(root or self.settings.notes_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = Path(self.settings.log_path)

    def _path_for(self, title_or_slug: str) -> Path:
        """Map a title (or an existing slug) to the JSON file that holds it."""
        return self.root / f"{slugify(title_or_slug)}.json"

    def _record(self, action: str, slug: str) -> None:
        """Append one line to the activity log, rotating the log first if it is full."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        rotate_log_if_needed(self.log_path, max_log_bytes(self.settings), self.settings.log_backups)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} {action} {slug}\n")

    def save(self, note: Note) -> str:
        """Write the note to disk, replacing any earlier version, and return its slug."""
        path = self._path_for(note.title)
        path.write_text(json.dumps(asdict(note), indent=2), encoding="utf-8")
        self._record("save", path.stem)
        return path.stem

    def load(self, slug: str) -> Note | None:
        """Read a note back from disk; None when nothing is stored under that slug."""
        path = self._path_for(slug)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return Note(**data)

    def delete(self, slug: str) -> bool:
        """Remove a note file. Returns False if there was nothing to remove."""
        path = self._path_for(slug)
        if not path.exists():
            return False
        path.unlink()
        self._record("delete", slug)
        return True

    def list_slugs(self) -> list[str]:
        """All stored note identifiers in alphabetical order."""
        return sorted(p.stem for p in self.root.glob("*.json"))

    def all_notes(self) -> list[Note]:
        """Load every note in the store, skipping files that vanished mid-scan."""
        notes = (self.load(slug) for slug in self.list_slugs())
        return [note for note in notes if note is not None]
