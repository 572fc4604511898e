"""One writer per index: an advisory lock file beside the tables (local indexes only)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class IndexLockedError(RuntimeError):
    pass


class WriterLock:
    def __init__(self, index_uri: str) -> None:
        self._path = None if "://" in index_uri else Path(index_uri) / "writer.lock"
        self._fd: int | None = None

    def __enter__(self) -> "WriterLock":
        if self._path is None:
            return self
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise IndexLockedError(f"another sgmcp process is writing the index at {self._path.parent}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
