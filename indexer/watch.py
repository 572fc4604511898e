"""Keep an index current while the repository changes: watchdog events -> debounced, coalesced
batches -> one incremental index run (one commit) per batch."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .pipeline import IndexSummary, index_repository, maintain_index
from .store import default_index_dir

if TYPE_CHECKING:
    from .encoder import Encoder

log = logging.getLogger("sgmcp.watch")
_ACTIVE: "weakref.WeakSet[Watcher]" = weakref.WeakSet()


class _OverflowListener(logging.Handler):
    """watchdog reports a kernel event-queue overflow (events were lost) only in its log: a watcher
    answers it with a full pass, so a burst such as a big checkout can never leave the index behind."""

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            for watcher in list(_ACTIVE):
                watcher.request_full_pass()


_overflow_logger = logging.getLogger("watchdog.observers.inotify_c")
_overflow_logger.addHandler(_OverflowListener(level=logging.WARNING))
_IGNORED_TOP = (".git/", ".sgmcp/", ".hg/", ".svn/")
_CHANGE_EVENTS = frozenset({"created", "modified", "moved", "deleted"})
SMALL_BATCH = 8  # at most this many changed paths: a save, not a checkout


@dataclass(slots=True)
class WatchState:
    pending: int  # paths changed but not yet applied
    oldest_pending_s: float  # how long the oldest of them has waited
    applying: bool
    batches: int
    last_error: str


class _Stopped(Exception):
    """stop() was called while a batch was being applied."""


class Watcher:
    """Watch ``root``; apply changes ``debounce`` seconds after the last event, or at the latest
    ``max_delay`` seconds after the first one (a branch switch must not starve the index). A save
    (at most ``SMALL_BATCH`` paths) waits only ``quick_debounce`` after its last event: an editor's
    write-and-rename takes milliseconds. Compaction, which takes seconds on a large index, waits until
    nothing changed for ``idle_maintain`` seconds. Every ``reconcile_every`` seconds a full pass
    catches anything the OS did not report."""

    def __init__(self, root: str | os.PathLike[str], index_dir: str | None = None, *,
                 encoder: "Encoder | None" = None, debounce: float = 0.15, max_delay: float = 1.0,
                 quick_debounce: float = 0.05, idle_maintain: float = 2.0,
                 reconcile_every: float = 600.0, reconcile_first: bool = True,
                 on_batch: Callable[[IndexSummary], None] | None = None,
                 on_commit: Callable[[], None] | None = None) -> None:
        self.root = Path(root).resolve()
        self.index_dir = index_dir or default_index_dir(self.root)
        self.encoder = encoder
        self.debounce, self.max_delay, self.reconcile_every = debounce, max_delay, reconcile_every
        self.quick_debounce, self.idle_maintain = min(quick_debounce, debounce), idle_maintain
        self._maintain_after: float | None = None  # when compaction may run, if it was put off
        self.on_batch = on_batch
        self.on_commit = on_commit  # after a batch or a compaction landed: readers may reload meanwhile
        self._full_pending = reconcile_first  # files changed while nobody watched are found by a full pass
        self._pending: dict[str, float] = {}  # path -> first seen
        self._last_event = 0.0
        self._cond = threading.Condition()
        self._stop = False
        self._applying = False
        self._batches = 0
        self._last_error = ""
        self._observer = Observer()
        self._thread = threading.Thread(target=self._run, name="sgmcp-watch", daemon=True)
        index_rel = os.path.relpath(Path(self.index_dir).resolve(), self.root) if "://" not in self.index_dir else ""
        self._ignored = _IGNORED_TOP + ((index_rel.replace(os.sep, "/") + "/",) if not index_rel.startswith("..") else ())

    # ---- life cycle ----------------------------------------------------------------------
    def request_full_pass(self) -> None:
        with self._cond:
            self._full_pending = True
            self._cond.notify_all()

    def start(self) -> "Watcher":
        with self._cond:
            if self._stop or self._thread.ident is not None:  # stopped before it started, or started already
                return self
            _ACTIVE.add(self)
            self._observer.schedule(_Handler(self), str(self.root), recursive=True)
            self._observer.start()
            self._thread.start()
        return self

    def stop(self) -> None:
        _ACTIVE.discard(self)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            started = self._thread.ident is not None
        if started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._thread.join(timeout=30)

    def __enter__(self) -> "Watcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- events --------------------------------------------------------------------------
    def notify(self, abs_path: str) -> None:
        try:
            rel = Path(abs_path).resolve(strict=False).relative_to(self.root).as_posix()
        except ValueError:
            return
        if not rel or rel == "." or any(rel.startswith(p) or rel + "/" == p for p in self._ignored):
            return
        now = time.monotonic()
        with self._cond:
            self._pending.setdefault(rel, now)
            self._last_event = now
            self._cond.notify_all()

    def state(self) -> WatchState:
        with self._cond:
            oldest = min(self._pending.values(), default=None)
            return WatchState(pending=len(self._pending) + (1 if self._full_pending else 0),
                              oldest_pending_s=round(time.monotonic() - oldest, 3) if oldest else 0.0,
                              applying=self._applying, batches=self._batches, last_error=self._last_error)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending or being applied (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._applying or self._full_pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # ---- applying ------------------------------------------------------------------------
    def _stop_point(self, stage: str, done: int, total: int) -> None:
        """Called between files and embedding batches: a long first pass must not hold up stop(),
        or the process exits with the thread inside torch (an abort)."""
        if self._stop:
            raise _Stopped

    def _run(self) -> None:
        last_full = time.monotonic()
        while True:
            maintain = False
            with self._cond:
                while not self._stop and not self._full_pending:
                    now = time.monotonic()
                    if self._pending:
                        first = min(self._pending.values())
                        quiet = self.quick_debounce if len(self._pending) <= SMALL_BATCH else self.debounce
                        due = min(self._last_event + quiet, first + self.max_delay)
                        if now >= due:
                            break
                        self._cond.wait(due - now)
                    elif now - last_full >= self.reconcile_every:
                        break
                    elif self._maintain_after is not None and now >= self._maintain_after:
                        maintain = True
                        break
                    else:
                        wake = min(1.0, self.reconcile_every - (now - last_full))
                        if self._maintain_after is not None:
                            wake = min(wake, self._maintain_after - now)
                        self._cond.wait(wake)
                if self._stop:
                    return
                if maintain:
                    self._maintain_after = None
                else:
                    full = self._full_pending or not self._pending
                    batch = list(self._pending)
                    self._pending.clear()
                    self._full_pending = False
                    self._applying = True
            if maintain:  # outside the lock: events keep arriving (and wait) meanwhile
                self._maintain()
                continue
            try:
                summary = index_repository(self.root, self.index_dir, encoder=self.encoder,
                                           paths=None if full else batch, optimize=full,
                                           progress=self._stop_point)
                if full:
                    last_full = time.monotonic()
                self._maintain_after = None if full else time.monotonic() + self.idle_maintain
                self._last_error = ""
                if self.on_batch is not None:
                    self.on_batch(summary)
                self._committed()
            except _Stopped:  # nothing was written: the next start's full pass redoes it
                return
            except Exception as err:  # keep watching; retry these paths with the next batch
                log.warning("applying %d changed paths failed: %s", len(batch), err)
                self._last_error = str(err)
                with self._cond:
                    now = time.monotonic()
                    for path in batch:
                        self._pending.setdefault(path, now)
                    self._full_pending = self._full_pending or full
                time.sleep(0.5)
            finally:
                with self._cond:
                    self._applying = False
                    self._batches += 1
                    self._cond.notify_all()

    def _maintain(self) -> None:
        """Compaction put off by the batches (a no-op unless it is due); events wait meanwhile."""
        try:
            compacted = maintain_index(self.root, self.index_dir, encoder=self.encoder)
        except Exception as err:  # the next batch or full pass tries again
            log.warning("compacting the index failed: %s", err)
            return
        if compacted:
            self._committed()

    def _committed(self) -> None:
        if self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:  # a reader's reload is its own business: the index itself is written
                log.debug("on_commit failed", exc_info=True)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_EVENTS:
            return  # opened / closed: nothing changed
        if event.is_directory and event.event_type == "modified":
            return  # a file inside changed; that file has its own event
        self.watcher.notify(os.fsdecode(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self.watcher.notify(os.fsdecode(dest))
