"""Train the notes transformer on CPU within a wall-clock budget.

Writes <out>/checkpoint.pt (weights + config) and <out>/train_metrics.json; logs
train and validation loss. Stops cleanly at --steps or when --budget-minutes
runs out (then evaluates and saves), whichever comes first.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402
from dataset import DEFAULT_CACHE, Split  # noqa: E402
from model import Config, NotesLM  # noqa: E402


def batchify(windows, seq_len):
    """Pad to the longest window in the batch (at most seq_len)."""
    width = min(seq_len, max(len(w) for w in windows))
    x = np.full((len(windows), width), T.PAD, dtype=np.int64)
    for i, w in enumerate(windows):
        x[i, : min(len(w), width)] = w[:width]
    return torch.from_numpy(x)


def packed_row(split: Split, rng, length: int) -> np.ndarray:
    """Random windows (each BOS tags BAR ... [EOS]) back to back until `length` tokens.

    Pieces average ~380 tokens, so one window per row would be mostly padding; like
    GPT pre-training, later windows in a row attend to earlier ones, and every row
    still starts with BOS at position 0 as a prompt does.
    """
    parts, n = [], 0
    while n < length:
        w = split.sample_window(rng, length - n)
        parts.append(w)
        n += len(w)
    return np.concatenate(parts)[:length]


def loss_on(model, batch):
    logits = model(batch[:, :-1])
    tgt = batch[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                           ignore_index=T.PAD, reduction="sum"), int((tgt != T.PAD).sum())


@torch.no_grad()
def evaluate(model, val: Split, seq_len: int, batch_size: int, max_windows=None):
    """Token-weighted mean NLL (nats) over the deterministic validation windows."""
    model.eval()
    total, count, buf = 0.0, 0, []
    for i, w in enumerate(val.eval_windows(seq_len + 1)):
        if max_windows is not None and i >= max_windows:
            break
        buf.append(w)
        if len(buf) == batch_size:
            s, n = loss_on(model, batchify(buf, seq_len + 1))
            total, count, buf = total + float(s), count + n, []
    if buf:
        s, n = loss_on(model, batchify(buf, seq_len + 1))
        total, count = total + float(s), count + n
    model.train()
    return total / max(count, 1), count


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--out", required=True, help="folder for checkpoint.pt and train_metrics.json")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=100000, help="upper bound on optimizer steps")
    ap.add_argument("--budget-minutes", type=float, default=100.0, help="wall-clock budget for training + evaluation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=768)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=1024)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--eval-every-minutes", type=float, default=15.0)
    ap.add_argument("--eval-windows", type=int, default=64, help="windows for intermediate evals (final eval uses all)")
    ap.add_argument("--final-eval-windows", type=int, default=None)
    args = ap.parse_args(argv)

    t_start = time.time()
    budget_s = args.budget_minutes * 60.0
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train, val = Split(args.cache, "train"), Split(args.cache, "val")
    cfg = Config(vocab_size=T.VOCAB_SIZE, n_ctx=args.seq_len, d_model=args.d_model, n_layers=args.layers,
                 n_heads=args.heads, d_ff=args.d_ff, dropout=args.dropout)
    model = NotesLM(cfg)
    n_params = model.num_params()
    print(f"params {n_params} ({n_params / 1e6:.2f} M), threads {args.threads}, cpu {cpu_name()}, "
          f"train tokens {len(train.tokens)}, val tokens {len(val.tokens)}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))

    # Reserve time for the final evaluation (measured on the first intermediate eval).
    est_final_eval_s = 0.0
    planned_steps = args.steps
    ema = None
    step = 0
    last_eval = time.time()
    history = []
    tokens_seen = 0
    t_train0 = time.time()
    while step < planned_steps:
        # Fix the learning-rate schedule once the step time is known.
        if step == 20:
            per_step = (time.time() - t_train0) / 20
            remaining = budget_s - (time.time() - t_start) - est_final_eval_s - 30
            planned_steps = max(21, min(args.steps, int(step + remaining / per_step)))
            print(f"step time {per_step:.2f}s -> planning {planned_steps} steps", flush=True)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        if step >= args.warmup:
            frac = (step - args.warmup) / max(1, planned_steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = batchify([packed_row(train, rng, args.seq_len + 1) for _ in range(args.batch)], args.seq_len + 1)
        s, n = loss_on(model, batch)
        loss = s / max(n, 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += n
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 10 == 0:
            print(f"step {step}/{planned_steps} loss {lv:.4f} ema {ema:.4f} lr {lr:.2e} "
                  f"elapsed {time.time() - t_start:.0f}s", flush=True)
        if time.time() - last_eval > args.eval_every_minutes * 60:
            t0 = time.time()
            vl, _ = evaluate(model, val, args.seq_len, args.batch, args.eval_windows)
            dt = time.time() - t0
            n_all = sum(1 for _ in val.eval_windows(args.seq_len + 1))
            want = n_all if args.final_eval_windows is None else min(n_all, args.final_eval_windows)
            est_final_eval_s = dt * want / max(1, min(args.eval_windows, n_all))
            print(f"eval step {step} val_loss(sub) {vl:.4f} ppl {math.exp(vl):.3f} ({dt:.0f}s)", flush=True)
            history.append({"step": step, "train_loss_ema": ema, "val_loss_subset": vl,
                            "elapsed_s": round(time.time() - t_start)})
            torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "step": step},
                       os.path.join(args.out, "checkpoint.pt"))
            last_eval = time.time()
        if time.time() - t_start > budget_s - est_final_eval_s - 10:
            print(f"budget reached at step {step}", flush=True)
            break
    train_s = time.time() - t_start
    vl, n_tok = evaluate(model, val, args.seq_len, args.batch, args.final_eval_windows)
    print(f"final val_loss {vl:.4f} ppl {math.exp(vl):.3f} over {n_tok} tokens", flush=True)
    torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "step": step},
               os.path.join(args.out, "checkpoint.pt"))
    metrics = {"params": n_params, "config": cfg.to_dict(), "steps": step, "batch": args.batch,
               "seq_len": args.seq_len, "tokens_seen": tokens_seen, "lr": args.lr, "seed": args.seed,
               "threads": args.threads, "cpu": cpu_name(), "cpu_count": os.cpu_count(),
               "train_wall_s": round(train_s, 1), "total_wall_s": round(time.time() - t_start, 1),
               "final_train_loss_ema": ema, "val_loss": vl, "val_ppl": math.exp(vl), "val_tokens": n_tok,
               "val_windows": args.final_eval_windows or "all", "history": history,
               "torch": torch.__version__}
    with open(os.path.join(args.out, "train_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps({k: metrics[k] for k in ("params", "steps", "train_wall_s", "val_loss", "val_ppl")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
