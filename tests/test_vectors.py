"""Int8 nearest neighbours: any width, exact ranking and scores after the rescoring, split scans alike."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import sgmcp.vectors as vectors_module
from sgmcp.vectors import Int8Vectors


def _unit(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kernel_trusted", [True, False])
@pytest.mark.parametrize("dim", [20, 64, 384])
def test_nearest_is_the_exact_ranking(dim: int, kernel_trusted: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Widths the int8 kernel cannot take are zero-padded (20); near ties that the int8 scan alone
    reorders are ranked as float32 ranks them; a split scan gives the same answer; and so does the
    bfloat16 scan used where the int8 kernel fails its check."""
    if kernel_trusted and not vectors_module.int8_kernel_ok():
        pytest.skip("torch's int8 kernel fails its check on this CPU (the bfloat16 scan is tested below)")
    monkeypatch.setattr(vectors_module, "int8_kernel_ok", lambda: kernel_trusted)
    rng = np.random.default_rng(dim)
    vectors = _unit(rng, 3000, dim)
    vectors[7] = 0.0  # a chunk without a vector
    index = Int8Vectors(vectors, block=1000)  # several blocks, the last one short
    assert index.codes.shape[1] % 16 == 0 and (index._fallback is None) == kernel_trusted
    monkeypatch.setattr(vectors_module, "SPLIT_ROWS", 1)
    with ThreadPoolExecutor(2) as pool:
        for _ in range(5):
            query = _unit(rng, 1, dim)[0] * 0.4 + vectors[rng.integers(3000)]
            query /= np.linalg.norm(query)
            exact = vectors @ query
            for p in (None, pool):
                offsets, scores = index.nearest(query, 50, p)
                assert offsets == np.argsort(-exact, kind="stable")[:50].tolist()
                assert np.allclose(scores, exact[offsets], atol=1e-4)


def test_stored_vectors_read_back_almost_exactly() -> None:
    vectors = _unit(np.random.default_rng(0), 100, 384)
    vectors[3] = 0.0
    index = Int8Vectors(vectors)
    assert np.abs(index.get([0, 3, 99]) - vectors[[0, 3, 99]]).max() < 1e-5
    assert index.nearest(vectors[5], 0) == ([], [])
    assert index.nearest(vectors[5], 500)[0][0] == 5  # limit past the row count


def test_the_int8_kernel_check_runs() -> None:
    """It answers (True on the CPUs torch's kernel is written for) and is asked once per process."""
    assert isinstance(vectors_module.int8_kernel_ok(), bool)
    assert vectors_module.int8_kernel_ok.cache_info().currsize == 1
