"""A snapshot's chunk table, held in memory for the lookups every query makes.

- metadata (path, lines, kind, names, signature, ...): one Arrow table in memory, so building a
  candidate row costs a ``take`` instead of a LanceDB read (a ``take_offsets`` of 50 rows costs
  5-7 ms on an idle 2-core machine; every query made three of them).
- code: read from LanceDB only for the rows a caller shows (the final top k), since it is most of
  the table's bytes.
- vectors: exact nearest neighbours over int8 codes (``sgmcp/vectors.py``: a quarter of float32's
  bytes for the scan that every search makes, then an exact rescoring of the best rows). Past
  ``IN_MEMORY_MAX_ROWS`` the engine uses LanceDB's ANN index instead.
- row offsets by ``id``, ``definition_id`` and ``path``: symbol and path evidence, and BM25 hits
  (which LanceDB returns as ids), cost dictionary lookups.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from .vectors import Int8Vectors

IN_MEMORY_MAX_ROWS = 500_000
# The columns of a candidate row; ``code`` is added only where a caller asks for it.
META_COLUMNS = ["id", "path", "language", "kind", "name", "qualname", "container", "start_line", "end_line",
                "signature", "definition_id"]


@functools.cache
def side_pool() -> ThreadPoolExecutor:
    """Work that runs beside a query's own thread (torch's kernels and LanceDB release the GIL)."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="sgmcp-query")


class ChunkCache:
    def __init__(self, table: Any, with_vectors: bool) -> None:
        self.table = table
        columns = META_COLUMNS + (["vector"] if with_vectors else [])
        # A plain scan returns rows in offset order, which is what take_offsets addresses.
        arrow = table.search().select(columns).limit(None).to_arrow()
        self.meta: pa.Table = arrow.select(META_COLUMNS).combine_chunks()
        self._offsets: dict[str, dict[str, list[int]]] = {}
        for name in ("definition_id", "path"):
            index: dict[str, list[int]] = defaultdict(list)
            for offset, value in enumerate(arrow.column(name).to_pylist()):
                if value:
                    index[value].append(offset)
            self._offsets[name] = index
        self._by_id = {value: offset for offset, value in enumerate(arrow.column("id").to_pylist())}
        self.vectors: Int8Vectors | None = None  # rows in offset order
        if with_vectors:
            column = arrow.column("vector").combine_chunks()
            values = column.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            if column.null_count:  # a chunk without a vector never matches
                values = np.nan_to_num(values)
            self.vectors = Int8Vectors(values.reshape(len(column), column.type.list_size))

    def __len__(self) -> int:
        return self.meta.num_rows

    def rows(self, offsets: list[int], *, code: bool = False, vectors: bool = False) -> list[dict[str, Any]]:
        """Candidate rows at ``offsets``, in that order, each with its ``_offset``."""
        if not offsets:
            return []
        rows = self.meta.take(pa.array(offsets, type=pa.int64())).to_pylist()
        for offset, row in zip(offsets, rows):
            row["_offset"] = offset
        if code:
            self.add_code(rows)
        if vectors:
            for offset, row, vector in zip(offsets, rows, self._vectors(offsets)):
                row["vector"] = vector
        return rows

    def _vectors(self, offsets: list[int]) -> list[Any]:
        if self.vectors is not None:
            return list(self.vectors.get(offsets))
        ordered = sorted(set(offsets))  # too many rows to hold: one read
        read = dict(zip(ordered, self.table.take_offsets(ordered).select(["vector"]).to_arrow()
                        .column("vector").to_pylist()))
        return [None if read[o] is None else np.asarray(read[o], dtype=np.float32) for o in offsets]

    def add_code(self, rows: Iterable[dict[str, Any]]) -> None:
        """Fill in ``code`` for rows that lack it, with one read."""
        missing = [r for r in rows if "code" not in r]
        if not missing:
            return
        # take_offsets returns rows in the order of the (sorted) offsets it is given.
        ordered = sorted({r["_offset"] for r in missing})
        texts = dict(zip(ordered, self.table.take_offsets(ordered).select(["code"]).to_arrow()
                         .column("code").to_pylist()))
        for r in missing:
            r["code"] = texts[r["_offset"]] or ""

    def rows_for_ids(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Rows for chunk ids (as a LanceDB search returns them), in that order; unknown ids are skipped."""
        return self.rows([o for o in (self._by_id.get(i) for i in ids) if o is not None])

    def rows_where(self, column: str, values: list[str], *, code: bool = False,
                   vectors: bool = False) -> list[dict[str, Any]]:
        """Rows whose ``column`` (``definition_id`` or ``path``) is one of ``values``, in the order of ``values``."""
        index = self._offsets[column]
        return self.rows([o for v in values for o in index.get(v, ())], code=code, vectors=vectors)

    def nearest(self, query: np.ndarray, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` rows closest to ``query`` (cosine: vectors are normalised), best first,
        each with ``_distance`` as LanceDB's own vector search reports it."""
        if self.vectors is None:
            return []
        offsets, scores = self.vectors.nearest(query, limit, side_pool())
        rows = self.rows(offsets)
        for score, row in zip(scores, rows):
            row["_distance"] = 1.0 - score
        return rows
