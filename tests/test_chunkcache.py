"""The chunk table in memory: candidate rows, code read only for shown results, and the vector search
both in memory (int8 codes, sgmcp/vectors.py) and through LanceDB (indexes too large to hold) agreeing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import sgmcp.engine as engine_module
from indexer.identifiers import split_text
from indexer.pipeline import index_repository
from sgmcp.engine import Engine

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"


class WordHashEncoder:
    """A deterministic bag-of-words encoder: each split identifier word hashed to one of 64 axes."""

    name, dim, max_length = "word-hash-64", 64, 256

    def _embed(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in split_text(text).split():
                out[i, int(hashlib.blake2b(word.encode(), digest_size=2).hexdigest(), 16) % self.dim] += 1.0
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out

    def embed_queries(self, texts) -> np.ndarray:
        return self._embed(texts)

    def embed_code(self, texts, progress=None) -> np.ndarray:
        return self._embed(texts)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("cc") / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    ix = str(root.parent / "ix")
    index_repository(root, ix, encoder=WordHashEncoder())
    return root, ix


def test_rows_come_from_memory_and_code_only_when_shown(indexed: tuple[Path, str]) -> None:
    root, ix = indexed
    engine = Engine(root, ix, encoder=WordHashEncoder())
    cands = engine.semantic_candidates("convert markdown table to html rows", 5)
    assert cands and all("code" not in c.row for c in cands)
    results = engine.chunk_results(cands)
    assert [r.path for r in results] == [c.row["path"] for c in cands]
    top = results[0]
    lines = (root / top.path).read_text().splitlines()[top.start_line - 1: top.end_line]
    assert lines[0].strip() in top.snippet  # the shown code is the file's, read for the result
    rows = engine.chunks_for_definitions([cands[0].row["definition_id"]], with_vectors=True)
    assert rows[0]["code"] and rows[0]["vector"].shape == (64,)


def test_vector_search_in_memory_and_through_lancedb_agree(indexed: tuple[Path, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, ix = indexed
    queries = ["hash a password with a salt", "rate limit requests per second", "save a note to disk",
               "tokenize text into words", "export notes as csv"]
    in_memory = Engine(root, ix, encoder=WordHashEncoder())
    assert in_memory.chunks.vectors is not None
    monkeypatch.setattr(engine_module, "IN_MEMORY_MAX_ROWS", 0)
    on_disk = Engine(root, ix, encoder=WordHashEncoder())
    assert on_disk.chunks.vectors is None
    for q in queries:
        vector = WordHashEncoder().embed_queries([q])[0]
        a = [r["id"] for r in in_memory._dense(q, 10, vector)]
        b = [r["id"] for r in on_disk._dense(q, 10, vector)]
        assert a[:3] == b[:3], q  # LanceDB's ANN index may reorder near ties further down
        assert len(set(a) & set(b)) >= 8, q
    ids = [c.row["definition_id"] for c in in_memory.semantic_candidates(queries[0], 3)]
    assert all(r["vector"] is not None for r in on_disk.chunks.rows_where("definition_id", ids, vectors=True))


def test_split_vector_product_ranks_as_one(indexed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from sgmcp import vectors

    root, ix = indexed
    engine = Engine(root, ix, encoder=WordHashEncoder())
    vector = WordHashEncoder().embed_queries(["hash a password with a salt"])[0]
    whole = engine.chunks.nearest(vector, 20)
    monkeypatch.setattr(vectors, "SPLIT_ROWS", 1)  # two threads, two halves
    split = engine.chunks.nearest(vector, 20)
    assert [r["id"] for r in split] == [r["id"] for r in whole]
    assert [r["_distance"] for r in split] == [r["_distance"] for r in whole]

