"""Bulk indexing of many repositories: one independent ``index_repository`` call per repository,
fanned out over a local process pool or a Ray cluster (``pip install 'sgmcp[distributed]'``).

Each job writes its own index, so there is exactly one writer per index and no coordination between
jobs; a repository that fails is reported with its error and never stops the others. The encoder is
passed by name (``"default"``, ``"base"``, a model directory), never as an object, so each worker
process builds its own once and no model weights travel over the wire."""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discover import DEFAULT_MAX_FILE_BYTES

if TYPE_CHECKING:
    from .encoder import Encoder

BACKENDS = ("local", "ray")


@dataclass(frozen=True, slots=True)
class BulkJob:
    """Index the checkout at ``repo`` (a path as the worker sees it) into ``index_uri``."""
    repo: str
    index_uri: str


@dataclass(slots=True)
class BulkResult:
    repo: str
    index_uri: str
    ok: bool
    files: int = 0
    chunks: int = 0
    symbols: int = 0
    references: int = 0
    lines: int = 0
    embedded: int = 0
    seconds: float = 0.0  # inside the worker, from the start of its index_repository call
    error: str = ""
    worker: str = ""  # host:pid that ran the job

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def repo_name(repo: str) -> str:
    """The name of a repository's index under the index root: its directory name."""
    return Path(repo.rstrip("/")).name or "repo"


def plan_jobs(repos: Iterable[str], index_root: str | None = None) -> list[BulkJob]:
    """One job per repository: its index at ``index_root/<directory name>`` (any LanceDB URI,
    ``s3://...`` included), or at ``<repo>/.sgmcp`` without a root. Two repositories with the same
    name would share one index, i.e. two writers: that is refused rather than silently renamed."""
    jobs: list[BulkJob] = []
    seen: dict[str, str] = {}
    root = None
    if index_root:
        # A local root is made absolute here because the workers' working directory is not ours.
        root = index_root.rstrip("/") if "://" in index_root else os.path.abspath(index_root)
    for repo in repos:
        repo = os.path.abspath(repo)  # not checked for existence: on a cluster it may exist on workers only
        if root is None:
            uri = os.path.join(repo, ".sgmcp")
        else:
            name = repo_name(repo)
            if name in seen:
                raise ValueError(f"two repositories named {name!r} ({seen[name]}, {repo}) would write one "
                                 "index: index them in separate runs or under different --index-root")
            seen[name] = repo
            uri = f"{root}/{name}"
        jobs.append(BulkJob(repo, uri))
    return jobs


_ENCODERS: dict[str, "Encoder"] = {}  # per worker process: a model is loaded once, not once per job


def index_one(job: BulkJob, encoder_spec: str | None = None, *,
              max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, parse_workers: int = 1) -> BulkResult:
    """Index one repository and report the outcome; any exception becomes a failed result, because
    one broken repository must never sink the batch."""
    import socket

    from .pipeline import index_repository

    where = f"{socket.gethostname()}:{os.getpid()}"
    started = time.perf_counter()
    try:
        encoder = None
        if encoder_spec is not None:
            encoder = _ENCODERS.get(encoder_spec)
            if encoder is None:
                from .encoder import load_encoder

                encoder = _ENCODERS[encoder_spec] = load_encoder(encoder_spec)
        s = index_repository(job.repo, job.index_uri, encoder=encoder, max_file_bytes=max_file_bytes,
                             workers=parse_workers)
    except Exception as err:  # reported, not raised: see the docstring
        last = traceback.extract_tb(err.__traceback__)[-1:]
        at = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        return BulkResult(job.repo, job.index_uri, False, seconds=time.perf_counter() - started,
                          error=f"{type(err).__name__}: {err}{at}", worker=where)
    return BulkResult(job.repo, job.index_uri, True, files=s.files, chunks=s.chunks, symbols=s.symbols,
                      references=s.references, lines=s.lines, embedded=s.embedded, seconds=s.seconds,
                      worker=where)


def bulk_index(jobs: list[BulkJob], *, backend: str = "local", encoder_spec: str | None = None,
               workers: int | None = None, ray_address: str | None = None, cpus_per_task: int = 1,
               max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[BulkResult]:
    """Index every job and yield its result as soon as it finishes (not in job order).

    ``local``: a process pool of ``workers`` processes (default: the CPU count), each repository's
    parse split over the cores left per worker. ``ray``: one Ray task per repository, each asking
    for ``cpus_per_task`` CPUs and parsing with that many processes; connects to ``ray_address``
    (or ``$RAY_ADDRESS``), uses a Ray already initialised by the caller, or starts a local instance
    of ``workers`` CPUs."""
    if backend == "local":
        yield from _run_local(jobs, encoder_spec, workers, max_file_bytes)
    elif backend == "ray":
        yield from _run_ray(jobs, encoder_spec, workers, ray_address, cpus_per_task, max_file_bytes)
    else:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")


def _run_local(jobs: list[BulkJob], encoder_spec: str | None, workers: int | None,
               max_file_bytes: int) -> Iterator[BulkResult]:
    cpus = os.cpu_count() or 1
    workers = max(1, min(workers or cpus, len(jobs) or 1))
    parse_workers = max(1, cpus // workers)  # the cores a worker has to itself: no oversubscription
    # spawn, not fork: the caller may hold LanceDB's runtime threads, which a forked child would
    # inherit half-alive; a spawned worker imports the indexer once and then serves many jobs.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_limit_threads, initargs=(parse_workers,)) as pool:
        pending: dict[Future[BulkResult], BulkJob] = {
            pool.submit(index_one, job, encoder_spec, max_file_bytes=max_file_bytes,
                        parse_workers=parse_workers): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                try:
                    yield fut.result()
                except Exception as err:  # the worker process itself died (killed, out of memory)
                    yield BulkResult(job.repo, job.index_uri, False, error=f"{type(err).__name__}: {err}")


def _limit_threads(n: int) -> None:
    """Give an encoder in this worker the worker's share of the cores (what Ray does for its tasks
    through OMP_NUM_THREADS); set before torch is imported, which happens only with vectors."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    os.environ.setdefault("MKL_NUM_THREADS", str(n))


def _run_ray(jobs: list[BulkJob], encoder_spec: str | None, workers: int | None, address: str | None,
             cpus_per_task: int, max_file_bytes: int) -> Iterator[BulkResult]:
    try:
        import ray  # optional: only this backend needs it
    except ImportError:
        raise RuntimeError("the ray backend needs Ray: pip install 'sgmcp[distributed]'") from None
    started_here = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a throwaway local instance sized like the local backend
            ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        # max_retries=0: index_one already turns errors into results; a crashed worker is reported
        # once rather than retried into the same crash.
        task = ray.remote(num_cpus=cpus_per_task, max_retries=0)(index_one)
        pending = {task.remote(job, encoder_spec, max_file_bytes=max_file_bytes,
                               parse_workers=cpus_per_task): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as err:  # RayTaskError, WorkerCrashedError, ...
                    yield BulkResult(job.repo, job.index_uri, False, error=f"{type(err).__name__}: {err}")
    finally:
        if started_here:
            ray.shutdown()
