"""The encoder interface: the real packaged model (integration), a remote API against a local fake."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import indexer.encoder as encoder_module
from indexer.encoder import (BASE_NAME, BASE_SHA256, EncoderError, _file_digest, base_model_dir, load_encoder,
                             resolve_precision)


@pytest.mark.integration
def test_packaged_base_model_is_the_pinned_one_and_embeds() -> None:
    assert _file_digest(base_model_dir() / "model.safetensors") == BASE_SHA256
    enc = load_encoder("base")
    q = enc.embed_queries(["read a json config file"])
    c = enc.embed_code(["def load_config(path):\n    return json.load(open(path))", "def add(a, b): return a + b"])
    assert q.shape == (1, 384) and c.shape == (2, 384)
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-4)
    assert float(q[0] @ c[0]) > float(q[0] @ c[1])


@pytest.mark.integration
def test_fast_precisions_agree_with_fp32() -> None:
    """bf16 code vectors are the fp32 ones to within rounding; int8 queries stay close (their quality cost is
    measured by evals.csn / evals.cosqa, docs/benchmarks.md)."""
    code = ["def load_config(path):\n    return json.load(open(path))", "def add(a, b): return a + b"]
    queries = ["read a json config file", "sum of two numbers"]
    ref = load_encoder("base")
    ref.code_precision = ref.query_precision = "fp32"
    c32, q32 = ref.embed_code(code), ref.embed_queries(queries)
    fast = load_encoder("base")
    fast.code_precision, fast.query_precision = "bf16", "int8"
    c16, q8 = fast.embed_code(code), fast.embed_queries(queries)
    assert set(fast._models) == {"bf16", "int8"}  # the fp32 weights they were made from are not kept
    assert np.all(np.sum(c16 * c32, axis=1) > 0.999)
    assert np.all(np.sum(q8 * q32, axis=1) > 0.9)
    assert float(q8[0] @ c16[0]) > float(q8[0] @ c16[1]) and float(q8[1] @ c16[1]) > float(q8[1] @ c16[0])


def test_speed_settings_name_the_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code side's precision and length are part of the name (stored vectors change); the query side's
    precision is not (query vectors are never stored). No torch import for any of it."""
    import subprocess
    import sys
    from pathlib import Path

    for var in ("SGMCP_CODE_MAX_LENGTH", "SGMCP_CODE_PRECISION", "SGMCP_QUERY_PRECISION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(encoder_module, "_NATIVE_BF16", True)
    enc = load_encoder("base")  # the defaults: bf16 where the CPU has it natively, for code and queries
    assert (enc.name, enc.code_precision, enc.query_precision, enc.code_max_length) == \
        (BASE_NAME + "-code224-bf16", "bf16", "bf16", 224)
    monkeypatch.setattr(encoder_module, "_NATIVE_BF16", False)
    assert load_encoder("base").name == BASE_NAME + "-code224"  # auto = fp32 on a CPU without native bf16
    assert load_encoder("base").query_precision == "fp32"
    monkeypatch.setenv("SGMCP_QUERY_PRECISION", "int8")
    enc = load_encoder("base")
    assert (enc.name, enc.query_precision) == (BASE_NAME + "-code224", "int8")
    monkeypatch.setenv("SGMCP_CODE_PRECISION", "bf16")
    monkeypatch.setenv("SGMCP_CODE_MAX_LENGTH", "128")
    assert load_encoder("base").name == BASE_NAME + "-code128-bf16"
    monkeypatch.setenv("SGMCP_CODE_PRECISION", "int8")  # (queries: int8 since above)
    enc = load_encoder("base")
    assert (enc.name, enc.code_precision, enc.query_precision) == (BASE_NAME + "-code128-int8pc", "int8", "int8")
    assert load_encoder("default").name.startswith(BASE_NAME + "+")
    with pytest.raises(EncoderError, match="unknown precision"):
        resolve_precision("fp8")
    code = ("import sys; from indexer.encoder import load_encoder; e = load_encoder('default'); "
            "assert not {'torch', 'transformers', 'peft'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(encoder_module.__file__).parents[1])


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


@pytest.mark.integration
def test_code_batches_run_side_by_side_in_input_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """embed_code's parallel, length-sorted batches give each text its own vector (the one it gets alone),
    report progress up to the total, and leave torch's thread count as it was, even when stopped."""
    import torch

    monkeypatch.setattr(encoder_module, "TOKENIZE_GROUP", 16)  # several tokenizer groups, several batches each
    # Spaces add characters but no word pieces, so the character order is not the word-piece order.
    texts = [f"def f{i}(x):" + " " * (97 * i % 200) + f"\n    return x * {i}\n" + "    y += 1\n" * (i % 13)
             for i in range(70)]
    enc = load_encoder("base")
    enc.code_precision, enc.batch_size = "bf16", 4
    seen: list[tuple[int, int]] = []
    torch.set_num_threads(2)
    vectors = enc.embed_code(texts, progress=lambda done, total: seen.append((done, total)))
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)  # (two threads for one short text at a time are slow on a busy machine)
    alone = np.stack([enc._encode([t], enc.code_max_length, "bf16")[0] for t in texts])
    assert np.all(np.sum(alone * vectors, axis=1) > 0.9999)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (70, 70)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    torch.set_num_threads(2)
    with pytest.raises(KeyboardInterrupt):
        enc.embed_code(texts, progress=stop)
    assert torch.get_num_threads() == 2


def test_fused_linear_layers_compute_what_the_model_did() -> None:
    """A small random BERT in bf16: the same outputs with oneDNN's fused linear (+GELU) layers."""
    import copy

    import torch
    from transformers import BertConfig, BertModel

    from indexer.fused import FusedLinear, fuse_linear_layers, fused_kernel_available

    if not fused_kernel_available():
        pytest.skip("this torch has no oneDNN linear kernel")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    model = BertModel(config).eval().to(torch.bfloat16)
    fused = fuse_linear_layers(copy.deepcopy(model))
    assert isinstance(fused.encoder.layer[0].intermediate.dense, FusedLinear)
    assert fused.encoder.layer[0].intermediate.dense.activation == "gelu"
    assert not any(isinstance(m, torch.nn.Linear) for m in fused.modules())
    ids = torch.randint(0, 100, (3, 20))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    with torch.inference_mode():
        want = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        got = fused(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    cos = torch.nn.functional.cosine_similarity(want.reshape(-1, 32), got.reshape(-1, 32), dim=-1)
    assert float(cos.min()) > 0.999


def test_batches_are_padded_to_a_multiple_of_16_word_pieces() -> None:
    """(CPU flash attention is 1.5-2x faster at such lengths.) The width never passes the model's limit, and
    padding is masked and filled with the pad id."""
    tokens = {"input_ids": [[5] * 3, [7] * 17, [9] * 250], "attention_mask": [[1] * 3, [1] * 17, [1] * 250]}
    batch = encoder_module._pad(tokens, [0, 1], 0, 256)
    assert batch["input_ids"].shape == (2, 32)
    assert batch["attention_mask"][0].tolist() == [1] * 3 + [0] * 29
    assert batch["input_ids"][1].tolist() == [7] * 17 + [0] * 15
    assert encoder_module._pad(tokens, [2], 0, 256)["input_ids"].shape == (1, 256)
    assert encoder_module._pad(tokens, [2], 0, 252)["input_ids"].shape == (1, 252)  # capped at the limit
    assert encoder_module._pad(tokens, [0], 0, 2)["input_ids"].shape == (1, 3)  # never narrower than a row
