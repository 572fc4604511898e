"""Exact nearest neighbours over code vectors held in memory as int8 codes.

A search reads every row, so it is bound by memory bandwidth: at 120k x 384 dimensions float32 is
184 MB (13-17 ms on one core) and torch's bfloat16 matrix-vector kernel takes 11-13 ms. Here each vector
is one row of int8 codes with a per-row scale, a quarter of float32's bytes, which torch's weight-only
int8 kernel (``_weight_int8pack_mm``, the one int8 language models run on CPU) reads in 2.3 ms.

Its rounding (up to ~5e-3 on a cosine, with its bfloat16 output) would reorder near ties, so the scan
only picks candidates: the best ``max(4 * limit, RESCORE_MIN)`` rows are scored again in float32 from
the codes plus a second set of int8 codes for what the first rounding left (error ~1e-5). The result is
the exact ranking whenever the true top ``limit`` are among those candidates, which the scan's error
bound makes all but certain; the two code sets take as much memory as one bfloat16 copy.

The int8 kernel is a private torch operator: on a CPU where its products fail a check (``int8_kernel_ok``,
once per process), the scan reads a bfloat16 copy instead (slower, the same answers).
"""

from __future__ import annotations

import functools
import warnings
from concurrent.futures import Executor
from typing import Any

import numpy as np

SPLIT_ROWS = 50_000  # from here the scan is split across two threads (memory-bound)
RESCORE_MIN = 256
# The int8 kernel reads rows in blocks of 16 values: other widths are zero-padded (its results are wrong otherwise).
WIDTH_MULTIPLE = 16


class Int8Vectors:
    def __init__(self, vectors: np.ndarray, *, block: int = 1024) -> None:
        import torch  # the query encoder has loaded it already

        rows, self.dim = vectors.shape
        width = self.dim + -self.dim % WIDTH_MULTIPLE
        self.codes = torch.zeros(rows, width, dtype=torch.int8)
        self.residuals = torch.zeros(rows, width, dtype=torch.int8)
        scales = torch.empty(rows, dtype=torch.float32)
        self.residual_scales = torch.empty(rows, dtype=torch.float32)
        with warnings.catch_warnings():  # read-only Arrow memory, only read here
            warnings.simplefilter("ignore", UserWarning)
            source = torch.from_numpy(vectors)
        for start in range(0, rows, block):  # blocks that stay in cache: 0.75 s -> 0.09 s at 120k x 384
            part = source[start:start + block].float()
            codes, scale = _quantize(part)
            residual, residual_scale = _quantize(part - codes.float() * scale[:, None])
            self.codes[start:start + block, :self.dim] = codes
            self.residuals[start:start + block, :self.dim] = residual
            scales[start:start + block] = scale
            self.residual_scales[start:start + block] = residual_scale
        self.scales = scales.to(torch.bfloat16)  # the kernel's dtype (the query's)
        self._exact_scales = scales
        # Where the int8 kernel is not trusted (see int8_kernel_ok), the scan reads a bfloat16 copy instead.
        self._fallback = None if int8_kernel_ok() else (self.codes.float() * scales[:, None]).to(torch.bfloat16)

    def __len__(self) -> int:
        return len(self.codes)

    def nearest(self, query: np.ndarray, limit: int, pool: Executor | None = None) -> tuple[list[int], list[float]]:
        """Row offsets and cosines of the ``limit`` rows closest to ``query``, best first."""
        import torch

        limit = min(limit, len(self))
        if limit <= 0:
            return [], []
        q = torch.zeros(1, self.codes.shape[1], dtype=torch.float32)
        q[0, :self.dim] = torch.from_numpy(np.asarray(query, dtype=np.float32))
        q16 = q.to(torch.bfloat16)

        def scan(rows: slice) -> Any:
            if self._fallback is not None:
                return torch.mv(self._fallback[rows], q16[0])
            return torch.ops.aten._weight_int8pack_mm(q16, self.codes[rows], self.scales[rows])[0]

        if pool is not None and len(self) >= SPLIT_ROWS:  # two cores read twice as fast as one
            half = len(self) // 2
            other = pool.submit(scan, slice(half, None))
            approx = torch.cat([scan(slice(0, half)), other.result()])
        else:
            approx = scan(slice(None))
        candidates = torch.topk(approx.float(), min(len(self), max(4 * limit, RESCORE_MIN))).indices
        exact = self._rows(candidates) @ q[0]
        top = torch.topk(exact, limit)
        return candidates[top.indices].tolist(), top.values.tolist()

    def get(self, offsets: list[int]) -> np.ndarray:
        """The vectors at ``offsets`` (float32, one row each)."""
        import torch

        return self._rows(torch.as_tensor(offsets, dtype=torch.long))[:, :self.dim].numpy()

    def _rows(self, offsets: Any) -> Any:
        return (self.codes[offsets].float() * self._exact_scales[offsets, None]
                + self.residuals[offsets].float() * self.residual_scales[offsets, None])


@functools.cache
def int8_kernel_ok() -> bool:
    """Whether torch's int8 kernel gives the right products on this machine: a private operator, written
    for the CPUs int8 language models run on, and wrong without a word for widths it does not expect
    (here, at a width that is not a multiple of 16: NaN, garbage or a crash). Checked once per process on
    a small random matrix, at a width the store uses."""
    import torch

    try:
        generator = torch.Generator().manual_seed(0)
        vectors = torch.randn(67, 3 * WIDTH_MULTIPLE, generator=generator)
        codes, scale = _quantize(vectors)
        query = torch.randn(1, vectors.shape[1], generator=generator).to(torch.bfloat16)
        got = torch.ops.aten._weight_int8pack_mm(query, codes, scale.to(torch.bfloat16))[0].float()
        want = (codes.float() * scale[:, None]) @ query[0].float()
        return bool(torch.allclose(got, want, rtol=0.02, atol=0.05 * float(want.abs().max())))
    except (RuntimeError, AttributeError, NotImplementedError):  # no such operator in this build
        return False


def _quantize(part: Any) -> tuple[Any, Any]:
    """Int8 codes and per-row scales (a zero row gets zero codes)."""
    import torch

    scale = part.abs().amax(dim=1).clamp_min(1e-30) / 127
    return torch.round(part / scale[:, None]).to(torch.int8), scale
