"""A snapshot's chunk table, indexed in memory for the lookups every query makes.

- vectors: exact nearest neighbours by one matrix product. A flat scan in LanceDB costs tens of
  milliseconds per query even at a few thousand rows on a busy 2-core machine; this costs well
  under one. Past ``IN_MEMORY_MAX_ROWS`` (about 370 MB of float32 at 384 dimensions) the engine
  uses LanceDB's ANN index instead.
- row offsets by ``definition_id`` and ``path``, so symbol and path evidence costs a dictionary
  lookup and one ``take_offsets`` instead of a filtered scan.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

IN_MEMORY_MAX_ROWS = 250_000


class ChunkCache:
    def __init__(self, table: Any, with_vectors: bool) -> None:
        self.table = table
        columns = ["definition_id", "path"] + (["vector"] if with_vectors else [])
        # A plain scan returns rows in offset order, which is what take_offsets addresses.
        arrow = table.search().select(columns).limit(None).to_arrow()
        self._offsets: dict[str, dict[str, list[int]]] = {}
        for name in ("definition_id", "path"):
            index: dict[str, list[int]] = defaultdict(list)
            for offset, value in enumerate(arrow.column(name).to_pylist()):
                if value:
                    index[value].append(offset)
            self._offsets[name] = index
        self.matrix: np.ndarray | None = None
        if with_vectors:
            column = arrow.column("vector").combine_chunks()
            values = column.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            if column.null_count:  # a chunk without a vector never matches
                values = np.nan_to_num(values)
            self.matrix = values.reshape(len(column), column.type.list_size)

    def _take(self, offsets: list[int], columns: list[str]) -> dict[int, dict[str, Any]]:
        ordered = sorted(set(offsets))
        if not ordered:
            return {}
        # take_offsets returns rows in the order of the (sorted) offsets it is given.
        return dict(zip(ordered, self.table.take_offsets(ordered).select(columns).to_list()))

    def rows_where(self, column: str, values: list[str], columns: list[str]) -> list[dict[str, Any]]:
        """Rows whose ``column`` is one of ``values``, in the order of ``values``."""
        index = self._offsets[column]
        offsets = [o for v in values for o in index.get(v, ())]
        rows = self._take(offsets, columns)
        return [rows[o] for o in offsets]

    def nearest(self, query: np.ndarray, limit: int, columns: list[str]) -> list[dict[str, Any]]:
        """The ``limit`` rows closest to ``query`` (cosine: vectors are normalised), best first,
        each with ``_distance`` as LanceDB's own vector search reports it."""
        if self.matrix is None or not len(self.matrix):
            return []
        scores = self.matrix @ query.astype(np.float32)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top])]
        rows = self._take([int(i) for i in top], columns)
        return [{**rows[int(i)], "_distance": float(1.0 - scores[i])} for i in top]
