"""The trainer end to end on a tiny randomly initialised BERT: mine a fixture repository -> train two steps
-> export -> load through the encoder interface -> embed -> search; resume; DDP with two CPU processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from trainer.common import read_jsonl  # noqa: E402
from trainer.sources import ReservedSourceError, Source, check_not_reserved, core_name, load_sources  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_REPO = REPO_ROOT / "examples" / "sample_repo"

# Each fixture source is one language of the sample repository; the split is by source, as for real data.
FIXTURE_SOURCES = """
[[source]]
name = "fixture-python"
kind = "local"
path = "{repo}"
include = ["notes/**"]
language = "python"
license = "Apache-2.0"
repo = "fixture/python"

[[source]]
name = "fixture-typescript"
kind = "local"
path = "{repo}"
include = ["web/**"]
language = "typescript"
license = "Apache-2.0"
repo = "fixture/web"

[[source]]
name = "fixture-rust"
kind = "local"
path = "{repo}"
include = ["rust/**"]
language = "rust"
license = "Apache-2.0"
repo = "fixture/rust"
split = "valid"

[[source]]
name = "fixture-java"
kind = "local"
path = "{repo}"
include = ["java/**"]
language = "java"
license = "Apache-2.0"
repo = "fixture/java"
split = "test"

[[source]]
name = "fixture-go"
kind = "local"
path = "{repo}"
include = ["go/**"]
language = "go"
license = "Apache-2.0"
repo = "fixture/go"
split = "test"
"""


def _write_config(path: Path, data_dir: Path, out_dir: Path, base: Path, **extra) -> Path:
    import yaml

    cfg = {"name": "tiny", "base_model": str(base), "data_dir": str(data_dir), "output_dir": str(out_dir),
           "device": "cpu", "threads": 1, "batch_size": 4, "grad_accum": 2, "lr": 1e-3, "warmup_steps": 1,
           "max_query_len": 16, "max_code_len": 32, "lora": {"r": 4, "alpha": 8, "targets": ["query", "key", "value"]},
           "stages": [{"name": "in-batch", "steps": 1, "temperature": 0.05},
                      {"name": "hard", "steps": 1, "hard_negatives": 1, "temperature": 0.03, "mine_top_k": 3,
                       "mine_skip": 0}],
           "checkpoint_every": 1, "log_every": 1, "eval_rows": 8, "mine_batch_size": 8}
    cfg.update(extra)
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with the base encoder's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from indexer.encoder import base_model_dir

    out = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(base_model_dir(), local_files_only=True)
    tok.save_pretrained(out)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def mined(tmp_path_factory) -> Path:
    from trainer.mine import MineConfig, mine

    base = tmp_path_factory.mktemp("mine")
    repo = base / "repo"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns(".sgmcp"))
    toml = base / "sources.toml"
    toml.write_text(FIXTURE_SOURCES.replace("{repo}", str(repo)))
    cfg = MineConfig(sources_toml=toml, data_root=base / "data", out_dir=base / "dataset", min_per_language=16,
                     max_upsample=4.0, name_query_fraction=1.0, undocumented_fraction=1.0)
    mine(cfg, log=lambda m: None)
    return base / "dataset"


# ------------------------------------------------------------------------------------------ sources
def test_reserved_sources_raise():
    for name, kind, repo in [("httpx", "pypi", "encode/httpx"), ("librust-ignore-dev", "deb", "x/y"),
                             ("@tanstack/query-core", "npm", "x/y"), ("golang-github-spf13-cobra-dev", "deb", "x/y"),
                             ("libspdlog-dev", "deb", "x/y"), ("react-native-svg", "npm", "x/y"),
                             ("Django", "pypi", "x/y"), ("scikit-learn", "pypi", "x/y"), ("harmless", "pypi",
                                                                                            "pytest-dev/pytest")]:
        with pytest.raises(ReservedSourceError):
            check_not_reserved(Source(name=name, kind=kind, version="1", language="python", license="MIT",
                                      repo=repo))
    check_not_reserved(Source(name="pytest-mock", kind="pypi", version="1", language="python", license="MIT",
                              repo="pytest-dev/pytest-mock"))
    assert core_name("librust-regex-syntax-dev") == "regex-syntax"


def test_pinned_sources_are_valid_and_cover_languages():
    sources = load_sources()  # raises on a reserved source or a repository in two splits
    langs = {s.language for s in sources}
    assert {"python", "rust", "go", "java", "typescript", "javascript", "cpp"} <= langs
    assert all(s.version and s.license and s.repo for s in sources)
    for lang in langs:  # every language has held-out repositories
        assert any(s.split == "test" and s.language == lang for s in sources), lang


def test_globs():
    s = Source(name="x", kind="local", version="1", language="python", license="MIT", repo="x/x",
               include=("src/**",), exclude=("src/skip/**",))
    assert s.wants("src/a/b.py")
    assert not s.wants("lib/a.py")
    assert not s.wants("src/skip/a.py")
    assert not s.wants("src/tests/test_a.py")
    assert not s.wants("src/httpx/_client.py")  # vendored evaluation code


# --------------------------------------------------------------------------------------------- mining
def test_clean_doc_and_docstring_removal():
    from trainer.mine import clean_doc, strip_python_docstring

    assert clean_doc("TODO: write this") == ""
    assert clean_doc("Returns the {@link Foo#bar} value of the given {@code key}.\n\n@param key the key") == \
        "Returns the bar value of the given key."
    assert clean_doc("Parse a [`Config`](crate::Config) from a TOML string.\n\n# Errors\nbad") == \
        "Parse a Config from a TOML string."
    code = 'def f(x):\n    """Doc line.\n\n    More.\n    """\n    return x + 1\n'
    assert strip_python_docstring(code) == "def f(x):\n    return x + 1"
    method = '    @property\n    def g(self) -> int:\n        """One line."""\n        return 2\n'
    assert strip_python_docstring(method) == "    @property\n    def g(self) -> int:\n        return 2"


def test_minhash_finds_near_duplicates():
    from trainer.mine import MinHasher, near_duplicates

    h = MinHasher(64)
    a = "def add(a, b):\n    total = a + b\n    log('adding', a, b)\n    return total\n" * 3
    b = a.replace("adding", "summing", 1)
    c = "fn other(x: u32) -> u32 { let y = x * 2; y + 1 }"
    kept = near_duplicates([h.signature(a), h.signature(b), h.signature(c)], 0.8)
    assert kept == [0, 2]


def test_mined_dataset(mined: Path):
    train = list(read_jsonl(mined / "train.jsonl.gz"))
    test = list(read_jsonl(mined / "test.jsonl.gz"))
    assert train and test
    assert {r["split"] for r in train} == {"train"} and {r["split"] for r in test} == {"test"}
    assert not {r["source"] for r in train} & {r["source"] for r in test}  # split by repository
    for r in train + test:
        assert len(r["query"]) > 20 and len(r["document"]) >= 100 and r["code_id"]
        if r["language"] == "python" and r["query_kind"] == "doc":
            assert r["query"] not in r["document"]  # the docstring is removed
    assert {r["query_kind"] for r in train} == {"doc", "name"}
    card = (mined / "DATASET_CARD.md").read_text()
    assert "fixture-java" in card and "test" in card


# ------------------------------------------------------------------------------------------- training
def test_train_export_load_search(mined: Path, tiny_model: Path, tmp_path: Path):
    from indexer.encoder import load_encoder
    from trainer.evaluate import evaluate
    from trainer.export import export
    from trainer.train import load_config, train

    cfg = load_config(_write_config(tmp_path / "tiny.yaml", mined, tmp_path / "run", tiny_model))
    summary = train(cfg, resume=False, log=lambda *a, **k: None)
    assert summary["steps"] == 2 and summary["finished"]
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)
    assert [r["stage"] for r in log] == ["in-batch", "hard"]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.pt")) == ["step-0000001.pt",
                                                                                       "step-0000002.pt"]

    results = evaluate([str(tiny_model)], data_dir=mined, log=None)
    (tmp_path / "eval.json").write_text(json.dumps(results))
    out = export(tmp_path / "run", tmp_path / "adapter", eval_json=tmp_path / "eval.json", log=lambda m: None)
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == str(tiny_model.resolve())
    assert (out / "adapter_model.safetensors").exists()
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Evaluation" in card and "in-batch" in card and "fixture" in card

    enc = load_encoder(str(out))
    assert enc.dim == 32 and "+" in enc.name  # the base plus the adapter's digest
    test = list(read_jsonl(mined / "test.jsonl.gz"))
    docs = enc.embed_code([r["document"] for r in test])
    queries = enc.embed_queries([r["query"] for r in test[:3]])
    assert docs.shape == (len(test), 32) and queries.shape == (3, 32)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    top = np.argsort(-(queries @ docs.T), axis=1)[:, :5]
    assert top.shape == (3, min(5, len(test)))
    # The adapter changed the vectors: it is not the bare base.
    bare = load_encoder(str(tiny_model)).embed_code([test[0]["document"]])
    assert not np.allclose(bare, docs[:1], atol=1e-6)


def test_resume_continues_from_checkpoint(mined: Path, tiny_model: Path, tmp_path: Path):
    from trainer.train import load_config, train

    cfg = load_config(_write_config(tmp_path / "tiny.yaml", mined, tmp_path / "run", tiny_model, grad_accum=1))
    first = train(cfg, resume=False, max_steps=1, log=lambda *a, **k: None)
    assert first["steps"] == 1 and not first["finished"]
    second = train(cfg, resume=True, log=lambda *a, **k: None)
    assert second["steps"] == 2 and second["finished"]
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert steps == [1, 2]


@pytest.mark.integration
def test_ddp_two_cpu_processes(mined: Path, tiny_model: Path, tmp_path: Path):
    """PyTorch's own DDP (torchrun, gloo backend) with two CPU processes for two steps."""
    config = _write_config(tmp_path / "tiny.yaml", mined, tmp_path / "run", tiny_model, grad_accum=1, eval_rows=0)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(REPO_ROOT))
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", port, "-m", "trainer.cli", "run", "--config", str(config), "--restart"]
    # Its own process group, so that a hang kills the workers too, not only torchrun.
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail("torchrun timed out:\n" + out[-2000:] + err[-2000:])
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 2
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").exists()
