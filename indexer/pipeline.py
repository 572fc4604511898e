"""One indexing run: discover -> read + parse changed files (in parallel) -> embed -> one batched write."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discover import DEFAULT_MAX_FILE_BYTES, FileEntry, content_skip_reason, discover, discover_paths
from .hashing import content_hash
from .identifiers import split_text
from .model import Chunk, ParsedFile
from .parser import parse_file, parser_tag
from .store import DEFAULT_DIM, SCHEMA_VERSION, Batch, IndexStore, default_index_dir, path_in, sql_string
from .lock import WriterLock

if TYPE_CHECKING:
    from .encoder import Encoder

Progress = Callable[[str, int, int], None]  # (stage, done, total)
PARALLEL_MIN_FILES = 64


@dataclass(slots=True)
class IndexSummary:
    root: str
    index_dir: str
    files: int = 0  # files in the index after the run
    parsed: int = 0  # files (re)parsed in this run
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0
    symbols: int = 0
    references: int = 0
    imports: int = 0
    lines: int = 0
    embedded: int = 0
    syntax_errors: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(slots=True)
class _FileResult:
    entry: FileEntry
    digest: str = ""
    parsed: ParsedFile | None = None
    skip: str | None = None
    lines: int = 0


def file_digest(data: bytes) -> str:
    """A file row's ``content_hash``: the parser's tag and the content's hash (a file parsed by another
    version of the parser is parsed again, whatever its content: ``parsed_by_this_parser``)."""
    return f"{parser_tag()}:{content_hash(data)}"


def parsed_by_this_parser(digest: str) -> bool:
    return digest.startswith(f"{parser_tag()}:")


def _read_and_parse(root: str, entry: FileEntry, known_digest: str | None) -> _FileResult:
    result = _FileResult(entry)
    try:
        data = (Path(root) / entry.path).read_bytes()
    except OSError as err:  # vanished or unreadable since discovery
        result.skip = f"unreadable: {err.strerror or err}"  # transient: not remembered (no digest)
        return result
    result.digest = file_digest(data)
    if result.digest == known_digest:
        return result  # touched but not changed
    result.skip = content_skip_reason(entry.path, data)
    if result.skip:
        return result
    result.lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        result.parsed = parse_file(entry.path, data)
    except Exception as err:  # a parser bug must cost one file, not the run
        result.skip = f"parse failed: {type(err).__name__}: {err}"
    return result


def _read_and_parse_star(args: tuple[str, FileEntry, str | None]) -> _FileResult:
    return _read_and_parse(*args)


def index_repository(root: str | os.PathLike[str], index_dir: str | None = None, *,
                     encoder: "Encoder | None" = None, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                     progress: Progress | None = None, workers: int | None = None,
                     paths: Iterable[str] | None = None, optimize: bool = True) -> IndexSummary:
    """Bring the index of ``root`` up to date: only changed, added and deleted files are touched.
    With ``paths`` (repository-relative files or directories, from a file watcher) only those are
    looked at; without, the whole tree is walked. ``optimize=False`` puts compaction off (see
    ``IndexStore.maintain``; a watcher runs ``maintain_index`` once the repository is quiet)."""
    started = time.perf_counter()
    root_path = Path(root).resolve()
    if not root_path.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    index_uri = index_dir or default_index_dir(root_path)
    summary = IndexSummary(root=str(root_path), index_dir=index_uri)
    with WriterLock(index_uri):
        store = _store(index_uri, encoder)
        commit = store.prepare_writer()
        encoder_changed = commit is not None and commit.encoder != store.encoder
        scope = None if paths is None or encoder_changed else {p.strip("/") for p in paths if p.strip("/")}
        known = _known_files(store, scope) if commit is not None else {}
        if encoder_changed:
            store.notes.append(f"encoder changed ({commit.encoder or 'none'} -> {store.encoder or 'none'}): "
                               "re-indexing every file")
            stale_paths, known = set(known), {}
        else:
            stale_paths = set()

        if scope is None:
            found = discover(root_path, max_file_bytes=max_file_bytes)
            in_scope = set(known)
        else:
            found = discover_paths(root_path, scope, max_file_bytes=max_file_bytes)
            in_scope = set(known)  # already limited to the scope
        summary.skipped_files = list(found.skipped)
        present = {e.path for e in found.files}
        todo = [e for e in found.files if (k := known.get(e.path)) is None
                or (k["size"], k["mtime_ns"]) != (e.size, e.mtime_ns) or not parsed_by_this_parser(k["content_hash"])]
        deleted = in_scope - present
        results = _parse_all(str(root_path), todo, known, progress, workers)

        batch = Batch(removed_paths=deleted | stale_paths, files=[], chunks=[], symbols=[], refs=[], imports=[])
        touched = 0
        for r in results:
            path = r.entry.path
            if r.skip:
                summary.skipped_files.append((path, r.skip))
                if path in known:
                    batch.removed_paths.add(path)
                if r.digest:  # remembered, so an unchanged binary/minified file is not read again
                    batch.files.append({"path": path, "language": "", "content_hash": r.digest,
                                        "size": r.entry.size, "mtime_ns": r.entry.mtime_ns, "lines": 0,
                                        "syntax_errors": False, "skipped": r.skip})
                continue
            if r.parsed is None:  # same content, new mtime: refresh the file row only
                batch.touched_paths.add(path)
                batch.files.append({**known[path], "mtime_ns": r.entry.mtime_ns, "size": r.entry.size})
                touched += 1
                continue
            if path in known:  # a new file has no rows to delete
                batch.removed_paths.add(path)
            _add_parsed(batch, r)
        redone = {r.entry.path for r in results}
        summary.skipped_files.extend((e.path, known[e.path]["skipped"]) for e in found.files
                                     if e.path not in redone and known.get(e.path, {}).get("skipped"))
        summary.parsed = len(results) - touched - sum(1 for r in results if r.skip)
        summary.unchanged = len(found.files) - len(todo) + touched
        summary.deleted = len(deleted)
        summary.syntax_errors = sum(1 for r in results if r.parsed is not None and r.parsed.syntax_errors)

        if encoder is not None:
            summary.embedded = _embed(store, batch, encoder, commit, progress)
        if batch.removed_paths or batch.files:
            store.write(batch, note=f"index {len(batch.files)} files, {len(deleted)} deleted")
            store.maintain(optimize=optimize)
        elif commit is None:
            store.write(batch, note="empty repository")
        elif optimize:  # rows an earlier writer left outside the indexes (maintain decides whether it is due)
            store.maintain()
        summary.notes, store.notes = store.notes, []
        if paths is None:  # a watcher's batch skips the totals: they cost more than the batch
            _count(store, summary)
    summary.skipped = dict(Counter(reason.split(":")[0] for _, reason in summary.skipped_files))
    summary.seconds = time.perf_counter() - started
    return summary


def maintain_index(root: str | os.PathLike[str], index_dir: str | None = None, *,
                   encoder: "Encoder | None" = None, force: bool = False) -> bool:
    """Compact the index if compaction is due (or ``force``). Returns True when it ran."""
    index_uri = index_dir or default_index_dir(Path(root).resolve())
    with WriterLock(index_uri):
        store = _store(index_uri, encoder)
        last = store.last_commit()
        if last is None or (last.schema_version, last.dim, last.encoder) != (SCHEMA_VERSION, store.dim, store.encoder):
            return False  # nothing to compact, or an index the next run rebuilds anyway
        if store.prepare_writer() is None or not (force or store.maintenance_due()):
            return False
        store.maintain(force=True)
        store.notes.clear()
        return True


_STORES: dict[tuple[str, str, int], IndexStore] = {}


def _store(uri: str, encoder: "Encoder | None") -> IndexStore:
    """One store per index and encoder in a process, so a watcher's batches reuse open tables."""
    key = (uri, encoder.name if encoder else "", encoder.dim if encoder else DEFAULT_DIM)
    if key not in _STORES:
        if len(_STORES) >= 8:
            _STORES.pop(next(iter(_STORES)))
        _STORES[key] = IndexStore(uri, encoder=key[1], dim=key[2])
    return _STORES[key]


def _known_files(store: IndexStore, scope: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """The stored file rows, all of them or those at or under the ``scope`` paths."""
    table = store._table("files")  # the writer's handle is at the last commit after prepare_writer
    if scope is None:
        rows = table.to_arrow().to_pylist()
    elif not scope:
        rows = []
    else:
        # The path itself, or anything under it as a folder: a range ('/' + 1 = '0'), which the path
        # index answers, where starts_with() would scan every row.
        where = " OR ".join([path_in(scope), *(f"(path > {sql_string(p + '/')} AND path < {sql_string(p + '0')})"
                                               for p in sorted(scope))])
        rows = table.search().where(where).limit(None).to_arrow().to_pylist()
    return {row["path"]: row for row in rows}


def _parse_context() -> Any:
    """The parse pool's start method. From the main thread (the CLI, a script) fork: nothing else is inside
    LanceDB then, and a forkserver's workers would re-run an unguarded ``__main__`` script. From any other
    thread (a server's watcher) a forkserver: queries may be inside LanceDB when it forks, and a child
    forked then may deadlock (LanceDB warns so). The server forks each pool's workers from itself, started
    once with the parser loaded; spawn where there is no forkserver."""
    import multiprocessing
    import threading
    import warnings

    if threading.current_thread() is threading.main_thread():
        if "fork" not in multiprocessing.get_all_start_methods():
            return multiprocessing.get_context()
        # (the children inherit this filter: LanceDB's warning would only say what is explained above)
        warnings.filterwarnings("ignore", "lancedb fork support is experimental", RuntimeWarning)
        return multiprocessing.get_context("fork")
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # effective until the server starts; a no-op after
    return context


def _parse_all(root: str, todo: list[FileEntry], known: dict[str, dict[str, Any]],
               progress: Progress | None, workers: int | None) -> list[_FileResult]:
    jobs = [(root, e, known[e.path]["content_hash"] if e.path in known else None) for e in todo]
    workers = workers or os.cpu_count() or 1
    results: list[_FileResult] = []
    if len(jobs) < PARALLEL_MIN_FILES or workers <= 1:
        iterator = map(_read_and_parse_star, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=_parse_context())
        iterator = pool.map(_read_and_parse_star, jobs, chunksize=16)
    try:
        for i, result in enumerate(iterator, 1):
            results.append(result)
            if progress is not None:
                progress("parse", i, len(jobs))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)  # (stopped midway: the files not begun are dropped)
    return results


def search_text(c: Chunk) -> str:
    """What lexical and semantic search read of a chunk: where it is, what it is, what it says."""
    head = " ".join(x for x in (c.path, c.container, c.qualname if c.kind != "window" else c.name) if x)
    parts = [head, c.signature, c.doc, c.code]
    return "\n".join(p for p in parts if p)


def _add_parsed(batch: Batch, r: _FileResult) -> None:
    parsed = r.parsed
    assert parsed is not None
    path = r.entry.path
    batch.files.append({"path": path, "language": parsed.language, "content_hash": r.digest,
                        "size": r.entry.size, "mtime_ns": r.entry.mtime_ns, "lines": r.lines,
                        "syntax_errors": parsed.syntax_errors, "skipped": ""})
    for c in parsed.chunks:
        text = search_text(c)
        batch.chunks.append({
            "id": c.id, "path": path, "language": c.language, "kind": c.kind, "name": c.name,
            "qualname": c.qualname, "container": c.container, "start_line": c.start_line,
            "end_line": c.end_line, "signature": c.signature, "parameters": c.parameters,
            "return_type": c.return_type, "doc": c.doc, "calls": c.calls, "imports": c.imports,
            "definition_id": c.definition_id, "code": c.code, "text": text,
            # The name counts three times: BM25 has one column, and a chunk is mostly about its name.
            "text_split": split_text(" ".join((c.path, *(c.qualname,) * 3, c.signature, c.doc, c.code))),
            "embed_hash": "", "vector": None,
        })
    for d in parsed.definitions:
        batch.symbols.append({
            "id": d.id, "name": d.name, "name_lower": d.name.lower(), "qualname": d.qualname, "kind": d.kind,
            "path": path, "language": d.language, "start_line": d.start_line, "end_line": d.end_line,
            "container": d.container, "signature": d.signature, "doc": d.doc.split("\n", 1)[0][:200],
        })
    for ref in parsed.references:
        batch.refs.append({"name": ref.name, "kind": ref.kind, "path": path, "line": ref.line,
                           "col": ref.col, "enclosing_id": ref.enclosing_id, "receiver": ref.receiver})
    for imp in parsed.imports:
        batch.imports.append({"path": path, "module": imp.module, "line": imp.line, "names": imp.names})


def _embed(store: IndexStore, batch: Batch, encoder: "Encoder", commit: Any, progress: Progress | None) -> int:
    """Fill chunk vectors, reusing any vector already stored for the same text (content-hash cache)."""
    from .encoder import embedding_text

    texts = {}
    for row in batch.chunks:
        text = embedding_text(row)
        row["embed_hash"] = content_hash(encoder.name + "\0" + text)
        texts[row["embed_hash"]] = text
    cached: dict[str, list[float]] = {}
    if commit is not None and commit.encoder == encoder.name and texts:
        chunks = store._table("chunks")  # the writer's handle is at the last commit after prepare_writer
        for lo in range(0, len(texts), 2000):
            keys = list(texts)[lo: lo + 2000]
            quoted = ", ".join(f"'{k}'" for k in keys)
            for row in chunks.search().where(f"embed_hash IN ({quoted})").select(
                    ["embed_hash", "vector"]).limit(None).to_arrow().to_pylist():
                if row["vector"] is not None:
                    cached[row["embed_hash"]] = row["vector"]
    missing = [h for h in texts if h not in cached]
    if missing:
        vectors = encoder.embed_code([texts[h] for h in missing],
                                     progress=(lambda d, t: progress("embed", d, t)) if progress else None)
        cached.update(zip(missing, vectors.tolist()))
    for row in batch.chunks:
        row["vector"] = cached[row["embed_hash"]]
    return len(missing)


def _count(store: IndexStore, summary: IndexSummary) -> None:
    snap = store.snapshot()
    summary.files = snap.tables["files"].count_rows("skipped = ''")
    summary.chunks = snap.tables["chunks"].count_rows()
    summary.symbols = snap.tables["symbols"].count_rows()
    summary.references = snap.tables["refs"].count_rows()
    summary.imports = snap.tables["imports"].count_rows()
    summary.lines = sum(snap.arrow("files", ["lines"]).column("lines").to_pylist())  # skipped rows hold 0
