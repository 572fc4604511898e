"""Held-out evaluation: base vs trained encoder on the test split (packages never trained on).

For each language, every test query's gold code is ranked among all test codes of that language (ties count
against the model). Reports MRR, P@1 and R@10 per language, their macro average, and the same for the
name-description queries separately. Encoders are loaded exactly as the index loads them
(``indexer.encoder.load_encoder``: ``base``, ``default`` or an adapter directory).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .common import DATASET_DIR, read_jsonl, split_file


def rank_metrics(scores: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """``scores`` (Q, N), ``gold`` (Q,) column of each query's answer."""
    gold_s = scores[np.arange(len(gold)), gold]
    ranks = (scores > gold_s[:, None]).sum(1) + (scores == gold_s[:, None]).sum(1)
    return {"mrr": float(np.mean(1.0 / ranks)), "p1": float(np.mean(ranks == 1)), "r10": float(np.mean(ranks <= 10))}


def evaluate(models: list[str], *, data_dir: Path = DATASET_DIR, split: str = "test", limit_per_language: int = 0,
             threads: int = 0, log=print) -> dict[str, Any]:
    from indexer.encoder import load_encoder

    if threads:
        import torch

        torch.set_num_threads(threads)
    rows = list(read_jsonl(split_file(Path(data_dir), split)))
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_lang[r["language"]].append(r)
    if limit_per_language:
        by_lang = {k: v[:limit_per_language] for k, v in by_lang.items()}
    results: dict[str, Any] = {"split": split, "data_dir": str(data_dir), "models": {}}
    for spec in models:
        enc = load_encoder(spec)
        t = time.time()
        per_lang: dict[str, Any] = {}
        for lang, items in sorted(by_lang.items()):
            docs: dict[str, str] = {}
            for r in items:
                docs.setdefault(r["code_id"], r["document"])
            ids = list(docs)
            pos = {cid: i for i, cid in enumerate(ids)}
            D = enc.embed_code([docs[c] for c in ids])
            Q = np.concatenate([enc.embed_queries([r["query"] for r in items[lo: lo + 64]])
                                for lo in range(0, len(items), 64)])
            S = Q @ D.T
            gold = np.array([pos[r["code_id"]] for r in items])
            entry: dict[str, Any] = {"candidates": len(ids)}
            for kind in ("doc", "name"):
                sel = np.array([r["query_kind"] == kind for r in items])
                if sel.any():
                    entry[kind] = rank_metrics(S[sel], gold[sel]) | {"n": int(sel.sum())}
            per_lang[lang] = entry
            if log:
                d = entry.get("doc", {})
                log(f"[eval] {enc.name} {lang}: doc MRR {d.get('mrr', float('nan')):.3f} "
                    f"P@1 {d.get('p1', float('nan')):.3f} (n={d.get('n', 0)}, {len(ids)} codes)")
        macro: dict[str, Any] = {}
        for kind in ("doc", "name"):
            vals = [e[kind] for e in per_lang.values() if kind in e]
            if vals:
                macro[kind] = {m: float(np.mean([v[m] for v in vals])) for m in ("mrr", "p1", "r10")} | {
                    "n": int(sum(v["n"] for v in vals))}
        results["models"][spec] = {"name": enc.name, "languages": per_lang, "macro": macro,
                                   "seconds": round(time.time() - t, 1)}
    return results


def markdown_table(results: dict[str, Any], kind: str = "doc") -> str:
    """Languages as rows, each model's MRR / P@1 as columns."""
    models = list(results["models"])
    langs = sorted({lang for m in results["models"].values() for lang in m["languages"]})
    head = "| language | n | " + " | ".join(f"{m} MRR | {m} P@1" for m in models) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(models))]
    for lang in [*langs, "macro"]:
        cells = []
        n = 0
        for m in models:
            res = results["models"][m]
            e = res["macro"].get(kind) if lang == "macro" else res["languages"].get(lang, {}).get(kind)
            if e:
                n = e["n"]
                cells.append(f"{e['mrr']:.3f} | {e['p1']:.3f}")
            else:
                cells.append("– | –")
        lines.append(f"| {lang} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
