"""The on-disk index: LanceDB tables plus a commit log that makes every batch atomic for readers.

Each batch writes the data tables (one version each) and then appends one row to ``commits`` naming
the version of every table. Readers open the tables at the versions of the last commit, so they see
an index from before or after a batch, never half of one. A writer killed mid-batch leaves versions
past the last commit; the next writer restores the committed versions first (crash repair).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 4
DEFAULT_DIM = 384
DATA_TABLES = ("files", "chunks", "symbols", "refs", "imports")
OPTIMIZE_EVERY = 25  # commits between compactions; small updates must stay fast
# A writer may put compaction off (a watcher does, until the repository is quiet), but not past this.
OPTIMIZE_DEFER_MAX = 4 * OPTIMIZE_EVERY
READER_GRACE = timedelta(minutes=10)  # old versions kept this long for readers still on them
_KEEP_ALL = timedelta(days=365 * 100)
ANN_MIN_ROWS = 20_000
# Rows added after an index was built are searched by brute force until the next optimize(). For the
# full-text index that costs ~20 us a row per BM25 query (1,585 unindexed chunk rows: 32.7 ms; indexed:
# 1.8 ms), far more than the flat vector scan, so compaction comes once this many rows are outside.
UNINDEXED_MAX = 500


class IndexError_(RuntimeError):
    """An index that cannot be used as it is (wrong schema, locked, missing)."""


def _schemas(dim: int) -> dict[str, pa.Schema]:
    s, i32, i64 = pa.string(), pa.int32(), pa.int64()
    return {
        "files": pa.schema([("path", s), ("language", s), ("content_hash", s), ("size", i64),
                            ("mtime_ns", i64), ("lines", i32), ("syntax_errors", pa.bool_()),
                            ("skipped", s)]),  # why a file's content is not indexed ("" = indexed)
        "chunks": pa.schema([
            ("id", s), ("path", s), ("language", s), ("kind", s), ("name", s), ("qualname", s),
            ("container", s), ("start_line", i32), ("end_line", i32), ("signature", s), ("parameters", s),
            ("return_type", s), ("doc", s), ("calls", pa.list_(s)), ("imports", pa.list_(s)),
            ("definition_id", s), ("code", s), ("text", s), ("text_split", s), ("embed_hash", s),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=True),
        ]),
        "symbols": pa.schema([("id", s), ("name", s), ("name_lower", s), ("qualname", s), ("kind", s),
                              ("path", s), ("language", s), ("start_line", i32), ("end_line", i32),
                              ("container", s), ("signature", s), ("doc", s)]),
        "refs": pa.schema([("name", s), ("kind", s), ("path", s), ("line", i32), ("col", i32),
                           ("enclosing_id", s), ("receiver", s)]),  # receiver: indexer.model.Reference
        "imports": pa.schema([("path", s), ("module", s), ("line", i32), ("names", pa.list_(s))]),
        "commits": pa.schema([("seq", i64), ("schema_version", i32), ("encoder", s), ("dim", i32),
                              ("versions", s), ("created", pa.float64()), ("note", s),
                              ("paths", pa.list_(s))]),  # the files whose rows this commit changed
    }


@dataclass(frozen=True, slots=True)
class Commit:
    seq: int
    schema_version: int
    encoder: str
    dim: int
    versions: dict[str, int]
    created: float
    note: str
    paths: tuple[str, ...] = ()


@dataclass(slots=True)
class Batch:
    """Everything one write changes: rows of these paths are replaced by the given rows."""

    removed_paths: set[str]
    files: list[dict[str, Any]]
    chunks: list[dict[str, Any]]
    symbols: list[dict[str, Any]]
    refs: list[dict[str, Any]]
    imports: list[dict[str, Any]]
    # Files whose content is unchanged (new mtime only): their ``files`` row is replaced, their
    # chunks, symbols, refs and imports stay.
    touched_paths: set[str] = field(default_factory=set)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return getattr(self, table)


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal for a LanceDB filter."""
    return "'" + value.replace("'", "''") + "'"


def path_in(paths: Iterable[str]) -> str:
    """A LanceDB filter for the rows of these paths (``false`` for none)."""
    listed = ", ".join(sql_string(p) for p in sorted(paths))
    return f"path IN ({listed})" if listed else "false"


def default_index_dir(root: str | os.PathLike[str]) -> str:
    """Where a repository's index lives unless told: ``$SGMCP_INDEX_DIR``, else ``ROOT/.sgmcp``."""
    return os.environ.get("SGMCP_INDEX_DIR") or str(Path(root).resolve() / ".sgmcp")


def _is_local(uri: str) -> bool:
    return "://" not in uri


class IndexStore:
    """Open (or create) the index at ``uri``: a directory or any LanceDB URI."""

    def __init__(self, uri: str | os.PathLike[str], *, encoder: str = "", dim: int = DEFAULT_DIM) -> None:
        import lancedb

        self.uri = str(uri)
        if _is_local(self.uri):
            Path(self.uri).mkdir(parents=True, exist_ok=True)
        # Strong consistency: a handle kept open across batches must see another writer's versions.
        self._db = lancedb.connect(self.uri, read_consistency_interval=timedelta(0))
        self._open: dict[str, Any] = {}  # the writer's table handles, opened once
        self._log: tuple[Any, int, list[Commit]] | None = None  # (commits handle, its version, commits read)
        self._indexed = False  # every index exists (checked once per store, while writing)
        self._threads: Any = None  # writes the data tables side by side
        self.encoder, self.dim = encoder, dim
        self.notes: list[str] = []
        self._writing: Commit | None = None  # the writer's view of the last commit (it holds the lock)

    # ---- reading -------------------------------------------------------------------------
    def _table(self, name: str) -> Any:
        if name not in self._open:
            self._open[name] = self._db.open_table(name)
        return self._open[name]

    def table_names(self) -> set[str]:
        return set(self._db.list_tables().tables)

    def last_commit(self) -> Commit | None:
        commits = self._commits()
        return commits[-1] if commits else None

    def commits_since(self, seq: int) -> list[Commit] | None:
        """The commits after ``seq``, oldest first; None when some were pruned by compaction (a
        reader that far behind must reload everything)."""
        commits = [c for c in self._commits() if c.seq > seq]
        if commits and commits[0].seq != seq + 1:
            return None
        return commits

    def _commits(self) -> list[Commit]:
        """The commit log. Read again only when its table has a new version: a reader polling for
        changes pays one version check, not a table read."""
        log = self._log
        if log is not None:
            try:
                if log[0].version == log[1]:
                    return log[2]
            except Exception:  # dropped (an index rebuilt from scratch): open it again
                pass
            self._log = None
        if "commits" not in self.table_names():
            return []
        table = self._db.open_table("commits")
        version = table.version
        rows = table.to_arrow().to_pylist()
        commits = sorted((Commit(r["seq"], r["schema_version"], r["encoder"], r["dim"], json.loads(r["versions"]),
                                 r["created"], r["note"], tuple(r.get("paths") or ())) for r in rows),
                         key=lambda c: c.seq)
        if table.version == version:  # nobody committed while we read
            self._log = (table, version, commits)
        return commits

    def snapshot(self) -> "Snapshot":
        """The tables as of the last commit (raises if nothing was ever committed)."""
        commit = self.last_commit()
        if commit is None:
            raise IndexError_(f"no index at {self.uri}: run `sgmcp index` first")
        if commit.schema_version != SCHEMA_VERSION:
            raise IndexError_(
                f"the index at {self.uri} has schema version {commit.schema_version}, this sgmcp reads "
                f"version {SCHEMA_VERSION}: run `sgmcp index` to rebuild it")
        tables = {}
        for name in DATA_TABLES:
            table = self._db.open_table(name)
            table.checkout(commit.versions[name])
            tables[name] = table
        return Snapshot(commit, tables)

    # ---- writing -------------------------------------------------------------------------
    def prepare_writer(self) -> Commit | None:
        """Make the tables match the last commit (undoing a killed writer's partial batch) and
        rebuild from scratch when the schema or vector size differs. Returns the last commit."""
        commit = self._writing = self.last_commit()
        stale = commit is not None and (commit.schema_version != SCHEMA_VERSION or commit.dim != self.dim)
        if stale or commit is None:
            if stale:
                self.notes.append(
                    f"index schema v{commit.schema_version}/dim {commit.dim} differs from "
                    f"v{SCHEMA_VERSION}/dim {self.dim}: rebuilding the index from scratch")
            self._reset()
            return None
        for name in DATA_TABLES:
            table = self._table(name)
            if table.version != commit.versions[name]:
                self.notes.append(f"repaired {name}: rolled back an unfinished write "
                                  f"(v{table.version} -> v{commit.versions[name]})")
                try:
                    table.restore(commit.versions[name])
                except Exception as err:  # the committed version is gone: start over
                    self.notes.append(f"cannot restore {name} ({err}): rebuilding the index from scratch")
                    self._reset()
                    return None
        return commit

    def _reset(self) -> None:
        self._writing = None
        self._open.clear()
        self._log = None
        self._indexed = False
        names = self.table_names()
        schemas = _schemas(self.dim)
        # The commit log goes first and comes back last: a reset killed half-way is seen as no index.
        for name in ("commits", *DATA_TABLES):
            if name in names:
                self._db.drop_table(name)
        for name in (*DATA_TABLES, "commits"):
            self._db.create_table(name, schema=schemas[name])

    def write(self, batch: Batch, *, note: str = "") -> Commit:
        """Apply ``batch`` to every table, then commit. One version per table, at most two; tables
        the batch does not change keep theirs. The tables are written side by side (LanceDB works
        outside the GIL): nothing is visible to readers before the commit, whatever the order."""
        commit = self._writing or self.last_commit()
        schemas = _schemas(self.dim)

        def apply(name: str) -> int:
            table = self._table(name)
            paths = batch.removed_paths | batch.touched_paths if name == "files" else batch.removed_paths
            if paths:
                table.delete(path_in(paths))
            rows = batch.rows(name)
            if rows:
                table.add(pa.Table.from_pylist(rows, schema=schemas[name]))
            return table.version

        busy = [name for name in DATA_TABLES if batch.rows(name) or batch.removed_paths
                or (name == "files" and batch.touched_paths)]
        versions = {name: self._table(name).version for name in DATA_TABLES if name not in busy}
        if len(busy) <= 1:
            versions.update((name, apply(name)) for name in busy)
        else:
            for name in busy:
                self._table(name)  # opened here, not in the threads
            versions.update(zip(busy, self._pool().map(apply, busy)))
        changed = batch.removed_paths | batch.touched_paths | {row["path"] for row in batch.files}
        return self._commit((commit.seq + 1) if commit else 1, versions, note, changed)

    def _pool(self) -> Any:
        if self._threads is None:
            from concurrent.futures import ThreadPoolExecutor

            self._threads = ThreadPoolExecutor(len(DATA_TABLES), thread_name_prefix="sgmcp-write")
        return self._threads

    def maintain(self, *, force: bool = False, optimize: bool = True) -> Commit | None:
        """Build missing indexes and, every few commits, compact and drop old versions. Both make
        new versions, so each ends with a commit of its own. ``optimize=False`` (a watcher's batch
        while files keep changing) builds missing indexes only and leaves compaction, which takes
        seconds on a large index, for later, unless it was put off for ``OPTIMIZE_DEFER_MAX`` commits."""
        commit = self._writing or self.last_commit()
        if commit is None:
            return None
        indexed = None if self._indexed else self._build_missing_indexes(commit)
        commit = indexed or commit
        if not (force or self._compaction_due(commit, deferred=not optimize)):
            return indexed
        versions = {}
        for name in DATA_TABLES:
            table = self._table(name)
            # Prune nothing yet: until the commit below lands, the committed versions must survive.
            # (Lance stamps the time a cleanup counts from when it runs, after the compaction, which
            # can take minutes: no age computed beforehand is safe.)
            table.optimize(cleanup_older_than=_KEEP_ALL)
            versions[name] = table.version
        new = self._commit(commit.seq + 1, versions, "maintain")
        # Now older versions are garbage, except to readers that opened them moments ago. Without
        # pylance, pruning comes only with another optimize(), which makes versions of its own (the
        # same rows): a second commit names them, so the next writer has nothing to roll back.
        for name in DATA_TABLES:
            table = self._table(name)
            table.optimize(cleanup_older_than=READER_GRACE)
            versions[name] = table.version
        new = self._commit(new.seq + 1, versions, "maintain")
        commits = self._table("commits")
        commits.delete(f"seq < {new.seq}")
        commits.optimize(cleanup_older_than=READER_GRACE)
        return new

    def maintenance_due(self) -> bool:
        """Whether compaction was put off (see ``maintain``)."""
        commit = self._writing or self.last_commit()
        return commit is not None and bool(self._commits()) and self._compaction_due(commit)

    def _compaction_due(self, commit: Commit, *, deferred: bool = False) -> bool:
        """Every ``OPTIMIZE_EVERY`` commits, or once ``UNINDEXED_MAX`` chunk rows sit outside the indexes;
        a writer that puts compaction off (``deferred``) waits up to ``OPTIMIZE_DEFER_MAX`` / 4x that."""
        since = commit.seq - self._commits()[0].seq  # the log starts at the last compaction
        unindexed = _unindexed(self._table("chunks"))
        if deferred:
            return since >= OPTIMIZE_DEFER_MAX or unindexed > 4 * UNINDEXED_MAX
        return since >= OPTIMIZE_EVERY or unindexed > UNINDEXED_MAX

    def _build_missing_indexes(self, commit: Commit) -> Commit | None:
        from lancedb.index import FTS, BTree, IvfFlat

        chunks = self._table("chunks")
        wanted: list[tuple[str, str, Any]] = [
            ("chunks", "text_split", FTS(with_position=False, lower_case=True, stem=True,
                                         remove_stop_words=False, ascii_folding=True)),
            ("symbols", "name_lower", BTree()),
            # Every batch deletes and every reader patch reads rows by path: without an index each of
            # those scans the whole table (80 ms for 600k references; 3 ms with it).
            *((name, "path", BTree()) for name in DATA_TABLES),
        ]
        missing, empty = [], False
        for name, column, config in wanted:
            table = self._table(name)
            if column in {idx.columns[0] for idx in table.list_indices()}:
                continue
            if table.count_rows():
                missing.append((table, column, config))
            else:
                empty = True  # built once the table has rows
        rows = chunks.count_rows()
        if commit.encoder and "vector" not in {i.columns[0] for i in chunks.list_indices()}:
            if rows >= ANN_MIN_ROWS:
                missing.append((chunks, "vector", IvfFlat(distance_type="cosine",
                                                          num_partitions=max(16, int(rows ** 0.5)))))
            else:
                empty = True
        self._indexed = not empty
        if not missing:
            return None
        for table, column, config in missing:
            table.create_index(column, config=config)
        return self._commit(commit.seq + 1, {name: self._table(name).version for name in DATA_TABLES}, "index")

    def _commit(self, seq: int, versions: dict[str, int], note: str, paths: Iterable[str] = ()) -> Commit:
        new = Commit(seq, SCHEMA_VERSION, self.encoder, self.dim, versions, time.time(), note, tuple(sorted(paths)))
        self._writing = new
        commits, log = self._table("commits"), self._log
        before = commits.version
        commits.add(pa.Table.from_pylist([{
            "seq": new.seq, "schema_version": new.schema_version, "encoder": new.encoder, "dim": new.dim,
            "versions": json.dumps(new.versions), "created": new.created, "note": new.note,
            "paths": list(new.paths)}],
            schema=_schemas(self.dim)["commits"]))
        if log is not None and log[1] == before:  # the writer holds the lock: nobody else appended
            self._log = (log[0], commits.version, [*log[2], new])
        return new


def _unindexed(table: Any) -> int:
    return max((table.index_stats(i.name).num_unindexed_rows for i in table.list_indices()), default=0)


@dataclass(slots=True)
class Snapshot:
    commit: Commit
    tables: dict[str, Any]

    def arrow(self, name: str, columns: Iterable[str] | None = None) -> pa.Table:
        table = self.tables[name]
        if columns is None:
            return table.to_arrow()
        return table.search().select(list(columns)).limit(None).to_arrow()
