"""``sgmcp train ...``: mine training pairs, train, export and evaluate the code encoder.

    sgmcp train sources                                   # the pinned packages (and the reserved guard)
    sgmcp train mine [--only NAME ...]                     # -> evals/data/trainer/dataset/
    sgmcp train run --config trainer/configs/cpu.yaml      # -> evals/data/trainer/runs/<name>/
    torchrun --nproc_per_node 2 -m trainer.cli run --config trainer/configs/cpu.yaml   # DDP
    sgmcp train evaluate --model base --model evals/data/trainer/runs/cpu/export
    sgmcp train export --run evals/data/trainer/runs/cpu --out DIR [--eval results.json]

Also ``python -m trainer ...``. ``main(argv)`` returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .common import DATA_ROOT, DATASET_DIR


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sgmcp train", description="Train the code encoder (LoRA) on mined pairs.")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("sources", help="list the pinned source packages")
    s.add_argument("--sources", type=Path, default=None, help="sources TOML (default trainer/sources.toml)")

    m = sub.add_parser("mine", help="fetch the pinned packages and mine (query, code) pairs")
    m.add_argument("--sources", type=Path, default=None, help="sources TOML (default trainer/sources.toml)")
    m.add_argument("--data-root", type=Path, default=DATA_ROOT, help="downloads and unpacked sources go here")
    m.add_argument("--out", type=Path, default=DATASET_DIR, help="dataset folder (JSONL + DATASET_CARD.md)")
    m.add_argument("--only", nargs="*", help="mine only these source names")
    m.add_argument("--max-per-language", type=int, default=None)
    m.add_argument("--min-per-language", type=int, default=None)
    m.add_argument("--max-eval-per-language", type=int, default=None)
    m.add_argument("--dedup-threshold", type=float, default=None)
    m.add_argument("--seed", type=int, default=None)

    r = sub.add_parser("run", help="train with a YAML config (torchrun for DDP)")
    r.add_argument("--config", type=Path, required=True)
    r.add_argument("--data-dir", default=None, help="override the config's data_dir")
    r.add_argument("--output-dir", default=None, help="override the config's output_dir")
    r.add_argument("--base-model", default=None, help="override the config's base_model (a model folder)")
    r.add_argument("--max-steps", type=int, default=0, help="stop after this many more steps (resume later)")
    r.add_argument("--max-minutes", type=float, default=0, help="stop (checkpoint + adapter) after this long")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--restart", action="store_true", help="ignore and delete the run's checkpoints")
    g.add_argument("--resume-from", default=None, help="a checkpoint file (default: the run's latest)")

    e = sub.add_parser("export", help="write a run's adapter + MODEL_CARD.md for `--model PATH`")
    e.add_argument("--run", type=Path, required=True, help="the run's output folder")
    e.add_argument("--out", type=Path, default=None, help="default: RUN/export")
    e.add_argument("--eval", type=Path, default=None, help="an `evaluate --out` JSON to record in the card")
    e.add_argument("--base", default="run",
                   help="'run' (the run's base if here, else the pip package's), 'package', or a model folder")
    e.add_argument("--no-verify", action="store_true")

    v = sub.add_parser("evaluate", help="MRR/P@1 per language on the held-out split")
    v.add_argument("--model", action="append", required=True,
                   help="'base', 'default' or an adapter folder; repeat to compare")
    v.add_argument("--data-dir", type=Path, default=DATASET_DIR)
    v.add_argument("--split", default="test", choices=["test", "valid", "train"])
    v.add_argument("--limit-per-language", type=int, default=0)
    v.add_argument("--threads", type=int, default=0)
    v.add_argument("--out", type=Path, default=None, help="write the results JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.cmd == "sources":
        from .sources import SOURCES_TOML, load_sources

        for s in load_sources(args.sources or SOURCES_TOML):
            print(f"{s.split:5}  {s.language:10}  {s.kind:6}  {s.pin:55}  {s.license:28}  {s.repo}")
        return 0
    if args.cmd == "mine":
        from .mine import MineConfig, mine

        cfg = MineConfig(data_root=args.data_root, out_dir=args.out, only=args.only or None)
        if args.sources:
            cfg.sources_toml = args.sources
        for key in ("max_per_language", "min_per_language", "max_eval_per_language", "dedup_threshold", "seed"):
            if getattr(args, key) is not None:
                setattr(cfg, key, getattr(args, key))
        stats = mine(cfg, log=lambda m: print(m, flush=True))
        print(json.dumps(stats["counts"], indent=1))
        return 0
    if args.cmd == "run":
        from .train import load_config, train

        cfg = load_config(args.config, {"data_dir": args.data_dir, "output_dir": args.output_dir,
                                        "base_model": args.base_model})
        resume: bool | str = False if args.restart else (args.resume_from or True)
        summary = train(cfg, resume=resume, max_steps=args.max_steps, max_minutes=args.max_minutes)
        return 0 if summary["steps"] > 0 else 1
    if args.cmd == "export":
        from .export import export

        export(args.run, args.out or args.run / "export", eval_json=args.eval, base=args.base,
               verify=not args.no_verify)
        return 0
    if args.cmd == "evaluate":
        from .evaluate import evaluate, markdown_table, save

        res = evaluate(args.model, data_dir=args.data_dir, split=args.split,
                       limit_per_language=args.limit_per_language, threads=args.threads)
        print("doc queries:\n" + markdown_table(res, "doc"))
        print("\nname queries:\n" + markdown_table(res, "name"))
        if args.out:
            save(res, args.out)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
