"""Train the v2 notes transformer on CPU; resumable.

    build/venv/bin/python train.py --data build/data --out build/train [--budget-minutes 120]

The learning-rate schedule is fixed by --steps (warmup + cosine to 10 %), so a run can stop
(budget reached, killed) and continue from <out>/checkpoint.pt with the same command:
model, optimizer, step, RNG states and history are restored. Checkpoints are written
atomically every --save-every-minutes and at the end; <out>/log.jsonl gets one line per
eval; <out>/train_metrics.json the final summary.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokens as T  # noqa: E402
from model import Config, NotesLM  # noqa: E402


class Split:
    """Sequences written by build_data.py: tokens, index [start, len, prefix_len, bars, source], bars."""

    def __init__(self, data: str, split: str):
        self.tokens = np.load(os.path.join(data, f"{split}_tokens.npy"))
        self.index = np.load(os.path.join(data, f"{split}_index.npy"))
        self.bars = np.load(os.path.join(data, f"{split}_bars.npy"))
        self.bar_first = np.concatenate([[0], np.cumsum(self.index[:, 3])[:-1]]).astype(np.int64)

    def window(self, seq: int, bar: int, length: int) -> np.ndarray:
        """Prefix (BOS, globals, header) + the tokens from the bar-th BAR on, at most `length`."""
        start, n, plen, nb, _ = self.index[seq]
        prefix = self.tokens[start:start + plen]
        b0 = self.bars[self.bar_first[seq] + bar] if nb else start + plen
        body = self.tokens[b0:start + n][: max(0, length - plen)]
        return np.concatenate([prefix, body]).astype(np.int64)

    def sample_window(self, rng: np.random.Generator, length: int) -> np.ndarray:
        seq = int(rng.integers(len(self.index)))
        nb = int(self.index[seq, 3])
        # Half the windows start at the segment's first bar (as a prompt does), half anywhere.
        bar = 0 if (nb == 0 or rng.random() < 0.5) else int(rng.integers(nb))
        return self.window(seq, bar, length)

    def eval_windows(self, length: int):
        for seq in range(len(self.index)):
            yield self.window(seq, 0, length)


def packed_row(split: Split, rng, length: int) -> np.ndarray:
    parts, n = [], 0
    while n < length:
        w = split.sample_window(rng, length - n)
        parts.append(w)
        n += len(w)
    return np.concatenate(parts)[:length]


def batchify(rows, width):
    x = np.full((len(rows), width), T.PAD, dtype=np.int64)
    for i, r in enumerate(rows):
        x[i, : min(len(r), width)] = r[:width]
    return torch.from_numpy(x)


def loss_on(model, batch):
    logits = model(batch[:, :-1])
    tgt = batch[:, 1:]
    return (F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=T.PAD,
                            reduction="sum"), int((tgt != T.PAD).sum()))


@torch.no_grad()
def evaluate(model, val: Split, seq_len: int, batch: int, max_windows: int):
    model.eval()
    total, count, buf = 0.0, 0, []
    for i, w in enumerate(val.eval_windows(seq_len + 1)):
        if i >= max_windows:
            break
        buf.append(w)
        if len(buf) == batch:
            s, n = loss_on(model, batchify(buf, min(seq_len + 1, max(len(b) for b in buf))))
            total, count, buf = total + float(s), count + n, []
    if buf:
        s, n = loss_on(model, batchify(buf, min(seq_len + 1, max(len(b) for b in buf))))
        total, count = total + float(s), count + n
    model.train()
    return total / max(count, 1), count


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def save(path, model, opt, cfg, step, rng, history, args, tokens_seen):
    tmp = path + ".tmp"
    torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "np_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "py_rng": random.getstate(), "history": history, "args": vars(args),
                "tokens_seen": tokens_seen, "vocab_version": T.VOCAB_VERSION}, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "build", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "build", "train"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=1400, help="total optimizer steps (fixes the LR schedule)")
    ap.add_argument("--budget-minutes", type=float, default=120.0, help="wall-clock budget of this invocation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=1024)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--eval-every", type=int, default=100, help="steps between validation evals")
    ap.add_argument("--eval-windows", type=int, default=48)
    ap.add_argument("--save-every-minutes", type=float, default=10.0)
    args = ap.parse_args(argv)

    t0 = time.time()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    train, val = Split(args.data, "train"), Split(args.data, "val")
    cfg = Config(vocab_size=T.VOCAB_SIZE, n_ctx=args.seq_len, d_model=args.d_model, n_layers=args.layers,
                 n_heads=args.heads, d_ff=args.d_ff, dropout=args.dropout)
    step, history, tokens_seen = 0, [], 0
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    ck = None
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = Config(**ck["config"])
    model = NotesLM(cfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, history, tokens_seen = ck["step"], ck["history"], ck.get("tokens_seen", 0)
        rng.bit_generator.state = ck["np_rng"]
        torch.set_rng_state(ck["torch_rng"])
        random.setstate(ck["py_rng"])
        print(f"resumed from {ckpt_path} at step {step}", flush=True)
    print(f"params {model.num_params()} ({model.num_params() / 1e6:.2f} M) config {cfg.to_dict()} "
          f"train tokens {len(train.tokens)} val tokens {len(val.tokens)} threads {args.threads}", flush=True)
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    last_save = time.time()
    ema = None
    budget_s = args.budget_minutes * 60
    while step < args.steps:
        lr = lr_at(step, args)
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
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 10 == 0:
            print(f"step {step}/{args.steps} loss {loss.item():.4f} ema {ema:.4f} lr {lr:.2e} "
                  f"elapsed {time.time() - t0:.0f}s", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            vl, vn = evaluate(model, val, args.seq_len, args.batch, args.eval_windows)
            rec = {"step": step, "train_loss_ema": ema, "val_loss": vl, "val_tokens": vn,
                   "tokens_seen": tokens_seen, "elapsed_s": round(time.time() - t0)}
            history.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(f"eval step {step} val_loss {vl:.4f} ppl {math.exp(vl):.3f}", flush=True)
        if time.time() - last_save > args.save_every_minutes * 60:
            save(ckpt_path, model, opt, cfg, step, rng, history, args, tokens_seen)
            last_save = time.time()
        if time.time() - t0 > budget_s:
            print(f"budget reached at step {step}; rerun the same command to resume", flush=True)
            break
    save(ckpt_path, model, opt, cfg, step, rng, history, args, tokens_seen)
    metrics = {"params": model.num_params(), "config": cfg.to_dict(), "step": step, "steps": args.steps,
               "tokens_seen": tokens_seen, "history": history, "wall_s_this_run": round(time.time() - t0),
               "torch": torch.__version__, "finished": step >= args.steps}
    with open(os.path.join(args.out, "train_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps({k: metrics[k] for k in ("params", "step", "finished")}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
