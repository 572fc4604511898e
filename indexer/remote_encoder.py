"""A remote embedding API behind the Encoder interface: Voyage AI's code models, for users with a key.

Off by default and never required; selected with ``--model voyage:voyage-code-3``. The key comes from
``VOYAGE_API_KEY``; ``VOYAGE_BASE_URL`` points elsewhere (a proxy, or a local fake in tests)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

import numpy as np

from .encoder import EMBED_CHARS, EncoderError

KNOWN_DIMS = {"voyage-code-3": 1024, "voyage-code-2": 1536, "voyage-3": 1024, "voyage-3-large": 1024,
              "voyage-3-lite": 512, "voyage-3.5": 1024, "voyage-3.5-lite": 1024}
DEFAULT_BASE_URL = "https://api.voyageai.com/v1"
BATCH = 64


class VoyageEncoder:
    def __init__(self, model: str = "voyage-code-3", *, timeout: float = 30.0, retries: int = 3) -> None:
        self.model = model
        self.name = f"voyage:{model}"
        self.max_length = 16000
        self.timeout, self.retries = timeout, retries
        self.base_url = (os.environ.get("VOYAGE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._key = os.environ.get("VOYAGE_API_KEY", "")
        if not self._key:
            raise EncoderError("the voyage encoder needs VOYAGE_API_KEY")
        self.dim = KNOWN_DIMS.get(model) or len(self._post(["probe"], "query")[0])

    def _post(self, texts: Sequence[str], input_type: str) -> list[list[float]]:
        body = json.dumps({"input": [t[: EMBED_CHARS * 2] for t in texts], "model": self.model,
                           "input_type": input_type}).encode()
        request = urllib.request.Request(f"{self.base_url}/embeddings", data=body, method="POST", headers={
            "Authorization": f"Bearer {self._key}", "Content-Type": "application/json"})
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    data = json.loads(response.read())
                rows = sorted(data["data"], key=lambda d: d.get("index", 0))
                return [row["embedding"] for row in rows]
            except urllib.error.HTTPError as err:
                if err.code not in (429, 500, 502, 503, 504) or attempt == self.retries:
                    raise EncoderError(f"voyage API error {err.code}: {err.read()[:200]!r}") from err
            except (urllib.error.URLError, TimeoutError, KeyError, ValueError) as err:
                if attempt == self.retries:
                    raise EncoderError(f"voyage API unreachable or malformed answer: {err}") from err
            time.sleep(min(8.0, 0.5 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _embed(self, texts: Sequence[str], input_type: str,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), BATCH):
            vectors = np.asarray(self._post(texts[lo: lo + BATCH], input_type), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[lo: lo + len(vectors)] = vectors / np.maximum(norms, 1e-9)
            if progress is not None:
                progress(min(lo + BATCH, len(texts)), len(texts))
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, "query")

    def embed_code(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        return self._embed(texts, "document", progress)
