"""The encoder interface: the real packaged model (integration), a remote API against a local fake."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from indexer.encoder import BASE_SHA256, EncoderError, _file_digest, base_model_dir, load_encoder


@pytest.mark.integration
def test_packaged_base_model_is_the_pinned_one_and_embeds() -> None:
    assert _file_digest(base_model_dir() / "model.safetensors") == BASE_SHA256
    enc = load_encoder("base")
    q = enc.embed_queries(["read a json config file"])
    c = enc.embed_code(["def load_config(path):\n    return json.load(open(path))", "def add(a, b): return a + b"])
    assert q.shape == (1, 384) and c.shape == (2, 384)
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-4)
    assert float(q[0] @ c[0]) > float(q[0] @ c[1])


def test_unknown_encoder_is_a_clear_error() -> None:
    with pytest.raises(EncoderError, match="unknown encoder"):
        load_encoder("/no/such/model")


@pytest.fixture
def fake_voyage(monkeypatch: pytest.MonkeyPatch):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append({"auth": self.headers.get("authorization"), "path": self.path, **body})
            data = [{"index": i, "embedding": [float(len(t)), 1.0, 0.0, 0.0] + [0.0] * 1020}
                    for i, t in enumerate(body["input"])]
            out = json.dumps({"data": data, "model": body["model"]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("VOYAGE_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("VOYAGE_API_KEY", "vk-test")
    yield seen
    server.shutdown()


def test_voyage_encoder_against_a_local_fake(fake_voyage: list[dict]) -> None:
    enc = load_encoder("voyage:voyage-code-3")
    assert (enc.name, enc.dim) == ("voyage:voyage-code-3", 1024)
    vectors = enc.embed_code(["a", "bbb"])
    assert vectors.shape == (2, 1024) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    enc.embed_queries(["find x"])
    assert [r["input_type"] for r in fake_voyage] == ["document", "query"]
    assert fake_voyage[0]["auth"] == "Bearer vk-test" and fake_voyage[0]["path"] == "/v1/embeddings"


def test_voyage_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOYAGE_API_KEY", raising=False)
    with pytest.raises(EncoderError, match="VOYAGE_API_KEY"):
        load_encoder("voyage:voyage-code-3")
