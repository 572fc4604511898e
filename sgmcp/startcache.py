"""The symbol graph's tables kept beside a local index, so that a starting server answers symbol
queries (find_definition, find_usages, outline) before LanceDB is even imported: importing lancedb
alone takes 1.5-2 s on a 2-core machine, the MCP SDK another 0.5-1 s.

The copy is valid only while the index's commit log is unchanged: its key is the newest manifest of
the ``commits`` table, read with one directory listing. Any commit, repair or compaction of the log
makes a new manifest, so a changed index is never answered from an old copy; the worst a mismatch
costs is the normal start. The files are Arrow IPC (data only: an index directory can come from
anywhere, so nothing in it is ever unpickled or executed), written under the key's own names and
published by replacing ``startcache.json`` atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc

from indexer.graph import GRAPH_READS, Graph, read_graph_table
from indexer.store import SCHEMA_VERSION, Snapshot

POINTER = "startcache.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class CachedIndex:
    """What a starting server knows of the index without opening it."""

    seq: int
    encoder: str
    created: float
    chunks: int
    key: str


def commit_log_key(index_uri: str) -> str | None:
    """The newest manifest of the commit log (name and mtime), or None for a remote or missing index."""
    if "://" in index_uri:
        return None
    try:
        with os.scandir(Path(index_uri) / "commits.lance" / "_versions") as entries:
            stamps = [(e.stat().st_mtime_ns, e.name) for e in entries if e.name.endswith(".manifest")]
    except OSError:
        return None
    if not stamps:
        return None
    mtime, name = max(stamps)
    return f"{name}:{mtime}"


def saved_key(index_uri: str) -> str | None:
    """The key of the copy beside the index, if any."""
    try:
        return json.loads((Path(index_uri) / POINTER).read_text()).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def load(index_uri: str) -> tuple[Graph, CachedIndex] | None:
    """The cached graph, if the cache matches the index as it is now; else None (never raises)."""
    key = commit_log_key(index_uri)
    if key is None:
        return None
    folder = Path(index_uri)
    try:
        meta = json.loads((folder / POINTER).read_text())
        if (meta.get("format"), meta.get("schema_version"), meta.get("key")) != (FORMAT, SCHEMA_VERSION, key):
            return None
        tables = {name: pa.ipc.open_file(pa.memory_map(str(folder / file))).read_all()  # zero-copy
                  for name, file in meta["files"].items()}
        graph = Graph(tables)
        return graph, CachedIndex(seq=meta["seq"], encoder=meta["encoder"], created=meta["created"],
                                  chunks=meta["chunks"], key=key)
    except Exception:  # missing, half-deleted, from another version: start the normal way
        return None


def save(index_uri: str, key: str, snapshot: Snapshot) -> None:
    """Copy ``snapshot``'s graph tables beside the index under ``key`` (the commit-log key read
    *before* the snapshot was opened, so a commit landing meanwhile leaves the copy unused)."""
    if "://" in index_uri:
        return
    folder = Path(index_uri)
    stem = "startcache-" + "".join(c if c.isalnum() else "_" for c in key)
    files: dict[str, str] = {}
    for name in GRAPH_READS:
        table = read_graph_table(snapshot, name)
        files[name] = f"{stem}.{name}.arrow"
        tmp = folder / (files[name] + ".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, folder / files[name])
    commit = snapshot.commit
    meta: dict[str, Any] = {"format": FORMAT, "schema_version": commit.schema_version, "key": key,
                            "seq": commit.seq, "encoder": commit.encoder, "created": commit.created,
                            "chunks": snapshot.tables["chunks"].count_rows(), "files": files}
    tmp = folder / (POINTER + ".tmp")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, folder / POINTER)
    for old in folder.glob("startcache-*.arrow"):  # earlier keys' copies
        if not old.name.startswith(stem + "."):
            old.unlink(missing_ok=True)
