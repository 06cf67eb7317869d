"""Export the v2 notes transformer to ONNX with a KV cache, verify it with ONNX Runtime, and write
vocab.json, continuo.toml, ONNX.md, greedy_reference.json and export_facts.json beside it.

    build/venv/bin/python export.py [--ckpt build/train/checkpoint.pt] [--out-dir continuo-notes-v2]

Modelled on v1's models/notes/export.py. The graph has v1's signature exactly (ONNX.md): inputs
input_ids int64 [1, T], past float32 [n_layers, 2, 1, n_heads, P, head_dim], position_offset int64
[1]; outputs logits [1, T, vocab], present [n_layers, 2, 1, n_heads, P + T, head_dim], so the
plugin's decoder (plugin/src/model/notes/decoder.rs) runs it unchanged; only the tokenizer differs.

Checks (the script exits non-zero if one fails): onnx.checker; on a validation window of n_ctx
tokens, a full-sequence call, a one-token-at-a-time loop through the cache and a three-chunk call
give the same logits as each other and as PyTorch (max |diff| < 1e-3, printed).

export_facts.json holds what the model card needs: parameters, step, training time, validation
loss and perplexity of the transformer and of the n-gram baseline on the same windows and target
tokens (ngram.py says how), per source, the ONNX file's size and the time of one cached step
with one ONNX Runtime thread (as the plugin runs it).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ngram  # noqa: E402
import tokens as T  # noqa: E402
from model import Config, NotesLM  # noqa: E402
from train import Split  # noqa: E402

OPSET = 17
MAX_BYTES = 20 * 1024 * 1024
SAMPLING = {"temperature": 0.9, "top_k": 32, "top_p": 0.95}
NAME = "continuo-notes-v2"
TOKENIZER = "continuo-notes-v2"
DESCRIPTION = ("Small transformer that continues drums, bass, chords, pad, arpeggio and lead parts as notes, "
               "trained on free game-music MIDI, public-domain tunes and generated grooves")


class CachedWrapper(torch.nn.Module):
    def __init__(self, model: NotesLM):
        super().__init__()
        self.model = model

    def forward(self, input_ids, past, position_offset):
        return self.model.forward_cached(input_ids, past, position_offset)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_checkpoint(path: str):
    # weights_only=False: the checkpoint also holds the RNG states train.py resumes from.
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = Config(**ck["config"])
    if cfg.vocab_size != T.VOCAB_SIZE or ck.get("vocab_version", T.VOCAB_VERSION) != T.VOCAB_VERSION:
        raise SystemExit(f"{path}: vocab {cfg.vocab_size} v{ck.get('vocab_version')}, tokens.py has "
                         f"{T.VOCAB_SIZE} v{T.VOCAB_VERSION}")
    model = NotesLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return ck, cfg, model


def export(model: NotesLM, path: str) -> None:
    """TorchScript exporter (dynamo=False), as v1: T and P are dynamic, batch is 1."""
    cfg = model.cfg
    ids = torch.randint(4, cfg.vocab_size, (1, 3), dtype=torch.int64)
    past = torch.zeros(cfg.n_layers, 2, 1, cfg.n_heads, 5, cfg.head_dim)
    off = torch.tensor([5], dtype=torch.int64)
    torch.onnx.export(
        CachedWrapper(model).eval(), (ids, past, off), path, opset_version=OPSET, dynamo=False,
        input_names=["input_ids", "past", "position_offset"], output_names=["logits", "present"],
        dynamic_axes={"input_ids": {1: "T"}, "past": {4: "P"}, "logits": {1: "T"}, "present": {4: "P_plus_T"}},
        do_constant_folding=True)


def ort_session(path: str, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def empty_past(cfg: Config) -> np.ndarray:
    return np.zeros((cfg.n_layers, 2, 1, cfg.n_heads, 0, cfg.head_dim), np.float32)


def run(sess, ids: np.ndarray, past: np.ndarray, pos: int):
    return sess.run(None, {"input_ids": ids, "past": past, "position_offset": np.array([pos], np.int64)})


def verify(path: str, model: NotesLM, seq: np.ndarray, threads: int) -> dict:
    """Full-sequence call vs a step-by-step loop with the cache vs a three-chunk call, and vs
    PyTorch; times the step loop (mean over positions 0 .. T-1) and steps at fixed cache sizes."""
    cfg = model.cfg
    sess = ort_session(path, threads)
    ids = seq[None, :].astype(np.int64)
    n = ids.shape[1]
    empty = empty_past(cfg)
    full, present = run(sess, ids, empty, 0)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()
    # One token per call, as the plugin decodes.
    steps, past = [], empty
    t0 = time.perf_counter()
    for i in range(n):
        lg, past = run(sess, ids[:, i:i + 1], past, i)
        steps.append(lg)
    loop_ms = (time.perf_counter() - t0) / n * 1000
    stepwise = np.concatenate(steps, axis=1)
    # A prompt-sized first call, then one token, then the rest in one call.
    cut1, cut2 = min(300, n // 3), min(300, n // 3) + 1
    a, p1 = run(sess, ids[:, :cut1], empty, 0)
    b, p2 = run(sess, ids[:, cut1:cut2], p1, cut1)
    c, p3 = run(sess, ids[:, cut2:], p2, cut2)
    chunked = np.concatenate([a, b, c], axis=1)
    # Steady-state cost of one step at a given cache size P: median and best of 50 calls (the
    # best is the better estimate on a busy machine; load_avg_1min says how busy it was).
    at_p = {}
    for p in (128, 512, n - 1):
        times = []
        for _ in range(50):
            t1 = time.perf_counter()
            run(sess, ids[:, p:p + 1], present[:, :, :, :, :p], p)
            times.append(time.perf_counter() - t1)
        at_p[str(p)] = {"median_ms": round(float(np.median(times)) * 1000, 3),
                        "min_ms": round(float(np.min(times)) * 1000, 3)}
    return {"tokens": int(n),
            "max_abs_diff_stepwise_vs_full": float(np.abs(stepwise - full).max()),
            "max_abs_diff_chunked_vs_full": float(np.abs(chunked - full).max()),
            "max_abs_diff_ort_vs_torch": float(np.abs(full - ref).max()),
            "max_abs_diff_present_chunked_vs_full": float(np.abs(p3 - present).max()),
            "present_shape": list(p3.shape),
            "ms_per_cached_step": round(loop_ms, 3),
            "ms_per_cached_step_note": f"mean over a one-token-per-call decode of positions 0..{n - 1}",
            "ms_per_cached_step_at_past": at_p, "threads": threads,
            "load_avg_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count()}


@torch.no_grad()
def model_nll(model: NotesLM, windows) -> list:
    """Per window, the cross-entropy (nats) of every target, positions 1 .. len-1, as train.py's
    evaluate computes it (one window per forward, so no padding is involved)."""
    out = []
    for w in windows:
        x = torch.from_numpy(np.asarray(w, dtype=np.int64))[None, :]
        logits = model(x[:, :-1])
        out.append(F.cross_entropy(logits[0], x[0, 1:], reduction="none").numpy().astype(np.float64))
    return out


def loss_facts(nll: np.ndarray) -> dict:
    loss = float(nll.mean())
    return {"val_loss": round(loss, 5), "val_ppl": round(math.exp(loss), 4), "tokens": int(len(nll))}


def pick_prompt(val: Split, context_bars: int = 4):
    """The first validation segment with at least three parts in its header and context_bars + 1
    bars; prompt = header + its first context_bars bars + the BAR that opens the next (TOKENS.md)."""
    for seq, (start, n, plen, nb, _) in enumerate(val.index):
        header = val.tokens[start:start + plen]
        parts = int(((header >= T.PART_BASE) & (header < T.PART_BASE + len(T.ROLES))).sum())
        if parts >= 3 and nb > context_bars:
            end = val.bars[val.bar_first[seq] + context_bars]
            prompt = [int(t) for t in val.tokens[start:end]] + [T.BAR]
            names = [T.NAMES[t] for t in header]
            ts = next((h for h in names if h.startswith("TS_")), "TS_4_4").split("_")
            return seq, prompt, int(ts[1]), int(ts[2])
    raise SystemExit("no validation segment with three parts")


def sample_continuation(sess, cfg: Config, prompt, bars: int, seed: int):
    """Plain ORT sampling loop (temperature / top-k / top-p from continuo.toml; PAD and BOS
    masked), stopping at EOS, at the BAR that would open continuation bar `bars`, or at n_ctx."""
    rng = np.random.default_rng(seed)
    past = empty_past(cfg)
    ids = np.asarray(prompt, np.int64)[None, :]
    out, pos, opened = [], 0, 0
    while pos + ids.shape[1] <= cfg.n_ctx:
        logits, past = run(sess, ids, past, pos)
        pos += ids.shape[1]
        lg = logits[0, -1].astype(np.float64) / SAMPLING["temperature"]
        lg[[T.PAD, T.BOS]] = -np.inf
        top = np.argsort(-lg)[: SAMPLING["top_k"]]
        pr = np.exp(lg[top] - lg[top].max())
        pr /= pr.sum()
        keep = np.cumsum(pr) - pr < SAMPLING["top_p"]
        top, pr = top[keep], pr[keep] / pr[keep].sum()
        tok = int(rng.choice(top, p=pr))
        if tok == T.EOS:
            break
        if tok == T.BAR:
            opened += 1
            if opened >= bars:
                break
        out.append(tok)
        ids = np.array([[tok]], np.int64)
    return out


def greedy_reference(sess, path: str, cfg: Config, prompt, n_tokens: int, seq: int) -> dict:
    """Argmax continuation through the cached loop: a fixture for the Rust ORT loop (as v1's)."""
    past = empty_past(cfg)
    ids = np.asarray(prompt, np.int64)[None, :]
    out, pos, first = [], 0, None
    for _ in range(n_tokens):
        logits, past = run(sess, ids, past, pos)
        pos += ids.shape[1]
        lg = logits[0, -1]
        if first is None:
            top = np.argsort(-lg)[:5]
            first = [[int(i), round(float(lg[i]), 4)] for i in top]
        tok = int(np.argmax(lg))
        out.append(tok)
        if tok == T.EOS or pos + 1 > cfg.n_ctx:
            break
        ids = np.array([[tok]], np.int64)
    return {"about": "Greedy (argmax) continuation of prompt_ids with notes.onnx, one ONNX Runtime "
                     "thread, fed one token per call after the prompt. first_step_top5 = [id, logit] of "
                     "the first call's last position; compare logits with a tolerance of ~1e-3. "
                     "prompt_ids: validation segment val_segment of models/notes2/build/data, "
                     "header and 4 bars, then BAR.",
            "tokenizer": TOKENIZER, "onnx_sha256": sha256(path), "val_segment": seq,
            "prompt_ids": [int(t) for t in prompt], "greedy_ids": out, "first_step_top5": first}


def write_vocab(out_dir: str) -> None:
    """Copy models/notes2/vocab.json, after checking it is what tokens.py writes."""
    src = os.path.join(HERE, "vocab.json")
    with open(src) as f:
        if json.load(f) != T.vocab_json():
            raise SystemExit(f"{src} differs from tokens.py: run `python tokens.py vocab --out vocab.json`")
    shutil.copyfile(src, os.path.join(out_dir, "vocab.json"))


def write_manifest(out_dir: str, onnx_name: str, cfg: Config, name: str, licence: str) -> None:
    """continuo.toml in the plugin's manifest format (plugin/src/model/manifest.rs): common keys,
    [files.<role>] with sha256, and the family's own table, [notes]."""
    files = [("model", onnx_name), ("vocab", "vocab.json")]
    lines = [
        "# Continuo model manifest (plugin/src/model/manifest.rs).",
        "format_version = 1",
        'family = "notes"',
        f'name = "{name}"',
        f'description = "{DESCRIPTION}"',
        f'license = "{licence}"',
        "sample_rate = 0  # symbolic: rendered at the host's rate by the plugin's instruments",
        "channels = 2",
        "",
    ]
    for role, rel in files:
        lines += [f"[files.{role}]", f'path = "{rel}"', f'sha256 = "{sha256(os.path.join(out_dir, rel))}"', ""]
    lines += [
        "[sampling]",
        f"temperature = {SAMPLING['temperature']}",
        f"top_k = {SAMPLING['top_k']}",
        f"top_p = {SAMPLING['top_p']}",
        "",
        "[notes]  # the notes family's own settings: tokenizer and decoder (TOKENS.md, ONNX.md)",
        f'tokenizer = "{TOKENIZER}"',
        f"vocab_size = {cfg.vocab_size}",
        f"n_ctx = {cfg.n_ctx}",
        f"n_layers = {cfg.n_layers}",
        f"n_heads = {cfg.n_heads}",
        f"head_dim = {cfg.head_dim}",
        "",
    ]
    with open(os.path.join(out_dir, "continuo.toml"), "w") as f:
        f.write("\n".join(lines))


def write_onnx_md(out_dir: str, onnx_name: str, cfg: Config, ver: dict) -> None:
    """ONNX.md: v1's page (models/notes/ONNX.md) with v2's numbers and tokens."""
    worst = max(ver["max_abs_diff_stepwise_vs_full"], ver["max_abs_diff_chunked_vs_full"])
    first_attr = T.ID["DENS_0"]
    text = f"""# {onnx_name} — inputs, outputs and the decoding loop (continuo-notes-v2)

One graph, exported by `models/notes2/export.py` (PyTorch TorchScript exporter, `dynamo=False`,
opset {OPSET}, fp32), checked by ONNX Runtime in the same script: a step-by-step loop with the
cache, a three-chunk call and a full-sequence call over {ver['tokens']} tokens give the same logits
(max |diff| must be < 1e-3; this export: {worst:.1e}, and {ver['max_abs_diff_ort_vs_torch']:.1e} against
PyTorch). The signature is v1's (`models/notes/ONNX.md`); only the tokens differ (`TOKENS.md`,
`vocab.json`, `"version": 2`). The dimensions below are in `continuo.toml` (`[notes]`); for this
model `n_layers = {cfg.n_layers}`, `n_heads = {cfg.n_heads}`, `head_dim = {cfg.head_dim}`,
`n_ctx = {cfg.n_ctx}`, `vocab_size = {cfg.vocab_size}`.

## Inputs

| name | type | shape | meaning |
|---|---|---|---|
| `input_ids` | int64 | `[1, T]`, `T >= 1` | new tokens (the whole prompt on the first call, then one token) |
| `past` | float32 | `[n_layers, 2, 1, n_heads, P, head_dim]` | cache from the previous call; `[:, 0]` keys, `[:, 1]` values; `P = 0` (a zero-sized tensor) on the first call |
| `position_offset` | int64 | `[1]` | absolute position of `input_ids[0, 0]`; must equal `P` |

## Outputs

| name | type | shape | meaning |
|---|---|---|---|
| `logits` | float32 | `[1, T, vocab_size]` | next-token logits after each input position; sample from `logits[0, T-1]` |
| `present` | float32 | `[n_layers, 2, 1, n_heads, P + T, head_dim]` | the cache to pass as `past` next time |

Batch is fixed at 1. Positions are learned absolute embeddings: **`P + T` must not exceed
`n_ctx` = {cfg.n_ctx}** (ONNX Runtime fails with an index error otherwise — check before `run`). A
full band bar costs 60–120 tokens, so a 4-bar prompt plus 8 new bars can reach it: drop the
oldest context bars first (keep `BOS`, global tags and the part header; TOKENS.md "Prompt"), and
to continue past `n_ctx`, re-encode a shorter prompt and start again with `P = 0`.

## Loop

```
past = zeros [n_layers, 2, 1, n_heads, 0, head_dim];  pos = 0
ids  = prompt                                  # BOS globals header BAR ... BAR   (TOKENS.md)
loop:
    logits, past = run(input_ids = ids[None, :], past = past, position_offset = [pos])
    pos += len(ids)
    next = sample(logits[0, -1])               # temperature, top-k, top-p from continuo.toml
    feed next to the TOKENS.md decoder; stop on EOS, on the BAR that would open bar M, or at n_ctx
    ids = [next]
```

Sampling advice: never sample `PAD` (0) or `BOS` (1), nor, once the first `BAR` is out, the
header-only ids — part attributes and global tags, ids {first_attr} and up (`DENS_0` ..
`KEY_B_MINOR`): the decoder ignores them, so masking them costs nothing and saves wasted steps.
A stricter sampler may also mask `PART_r` for roles not in the header (the header says which
parts to write) and `POS_p` with `p >= L` for the current metre.

## Cost

One cached step took {ver['ms_per_cached_step']:.1f} ms on average over positions
0..{ver['tokens'] - 1} on one core of the export machine (one intra-op thread, as the plugin runs
it; {ver['cpu_count']} cores, load average {ver['load_avg_1min']} during the check). At cache size P, median /
best of 50 calls: {', '.join(f"P = {p}: {t['median_ms']:.2f} / {t['min_ms']:.2f} ms" for p, t in ver['ms_per_cached_step_at_past'].items())}.
The cost grows with `P` mostly because `past` and `present` are one tensor each: every call
reads the whole cache and writes a new, longer one (ONNX Runtime's profile is dominated by the
`Split` and `Concat` nodes near `n_ctx`). A busy bar of a full band is ~100 tokens.
"""
    with open(os.path.join(out_dir, "ONNX.md"), "w") as f:
        f.write(text)


def train_wall_s(history) -> int:
    """Training time to the last evaluation: elapsed_s restarts at 0 when train.py resumes, so
    sum the last value of each run (the minutes after a run's last evaluation are not recorded)."""
    total, last = 0, 0
    for h in history:
        if h["elapsed_s"] < last:
            total += last
        last = h["elapsed_s"]
    return int(total + last)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "build", "train", "checkpoint.pt"))
    ap.add_argument("--data", default=os.path.join(HERE, "build", "data"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, NAME))
    ap.add_argument("--facts", default=None, help="export_facts.json path (default: in --out-dir)")
    ap.add_argument("--onnx-name", default="notes.onnx")
    ap.add_argument("--name", default=NAME)
    ap.add_argument("--licence", default="GPL-3.0-or-later",
                    help="weights' licence: GPL-3+ data (planetblupi) is in the training set, see DATA.md")
    ap.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime threads")
    ap.add_argument("--eval-windows", type=int, default=0,
                    help="validation windows for the losses, evenly spaced (0 = all, train.py's windows)")
    ap.add_argument("--ngram-max-order", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(args.threads)

    ck, cfg, model = load_checkpoint(args.ckpt)
    print(f"checkpoint {args.ckpt}: step {ck['step']}, {model.num_params():,} parameters, config {cfg.to_dict()}",
          flush=True)
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, args.onnx_name)
    export(model, path)
    size = os.path.getsize(path)
    print(f"exported {path}: {size / 1e6:.2f} MB", flush=True)
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes, over the {MAX_BYTES} byte limit")
    import onnx
    onnx.checker.check_model(path)

    # KV-cache check on the first validation window that fills the whole context.
    val = Split(args.data, "val")
    win = next(w for w in val.eval_windows(cfg.n_ctx) if len(w) == cfg.n_ctx)
    ver = verify(path, model, win, args.threads)
    print("verify:", json.dumps(ver), flush=True)
    worst = max(ver["max_abs_diff_stepwise_vs_full"], ver["max_abs_diff_chunked_vs_full"],
                ver["max_abs_diff_ort_vs_torch"], ver["max_abs_diff_present_chunked_vs_full"])
    if not worst < 1e-3:
        raise SystemExit(f"KV-cache check failed: max abs diff {worst}")

    # A real continuation and the greedy fixture, from a multi-part validation segment.
    sess = ort_session(path, 1)
    seq, prompt, num, den = pick_prompt(val)
    gen = sample_continuation(sess, cfg, prompt, 8, args.seed)
    notes = T.decode(prompt + gen, num, den, prompt_len=len(prompt))
    per_part = {r: len(v) for r, v in notes.items()}
    print(f"sampled {len(gen)} tokens ({gen.count(T.BAR) + 1} bars) after a {len(prompt)}-token prompt "
          f"(val segment {seq}) -> notes per part {per_part}", flush=True)
    ref = greedy_reference(sess, path, cfg, prompt, 48, seq)
    with open(os.path.join(args.out_dir, "greedy_reference.json"), "w") as f:
        json.dump(ref, f)
        f.write("\n")

    # Validation loss: transformer and n-gram on the same windows and targets (ngram.py).
    windows, segs = ngram.val_windows(val, cfg.n_ctx, args.eval_windows)
    t0 = time.time()
    nll = model_nll(model, windows)
    print(f"transformer on {len(windows)} validation windows: {time.time() - t0:.0f} s", flush=True)
    ng = ngram.evaluate(Split(args.data, "train"), windows, args.ngram_max_order,
                        log=lambda s: print(s, flush=True))
    ng_nll = -ng.pop("_logp")
    all_nll = np.concatenate(nll)
    assert len(all_nll) == len(ng_nll) == ng["val_tokens"]
    tm = loss_facts(all_nll)
    print(f"val loss: transformer {tm['val_loss']:.4f} (ppl {tm['val_ppl']:.3f}), "
          f"{ng['model']} {ng['val_loss']:.4f} (ppl {ng['val_ppl']:.3f}), {tm['tokens']:,} target tokens",
          flush=True)
    sources = json.load(open(os.path.join(args.data, "meta.json")))["sources"]
    src_of = np.repeat(val.index[segs, 4], [len(w) - 1 for w in windows])
    per_source = {}
    for s in np.unique(src_of):
        m = src_of == s
        per_source[sources[s]] = {"tokens": int(m.sum()), "windows": int((val.index[segs, 4] == s).sum()),
                                  "transformer": round(float(all_nll[m].mean()), 4),
                                  "ngram": round(float(ng_nll[m].mean()), 4)}
    first48 = None
    if len(segs) >= 48 and (segs[:48] == np.arange(48)).all():
        first48 = loss_facts(np.concatenate(nll[:48]))   # what train.py logs as val_loss

    write_vocab(args.out_dir)
    write_manifest(args.out_dir, args.onnx_name, cfg, args.name, args.licence)
    write_onnx_md(args.out_dir, args.onnx_name, cfg, ver)

    import onnxruntime
    hist = ck.get("history", [])
    facts = {
        "name": args.name, "tokenizer": TOKENIZER, "licence": args.licence,
        "date": datetime.date.today().isoformat(),
        "checkpoint": os.path.abspath(args.ckpt), "checkpoint_sha256": sha256(args.ckpt),
        "step": int(ck["step"]), "steps_planned": ck.get("args", {}).get("steps"),
        "tokens_seen": int(ck.get("tokens_seen", 0)), "train_args": ck.get("args"),
        "params": model.num_params(), "config": cfg.to_dict(), "head_dim": cfg.head_dim,
        "train_wall_s": train_wall_s(hist) if hist else None,
        "train_wall_note": "sum over train.py runs of elapsed_s at each run's last evaluation",
        "history": hist,
        "eval": {"windows": len(windows), "window_tokens": cfg.n_ctx + 1,
                 "selection": "all validation segments" if len(segs) == len(val.index)
                 else f"{len(segs)} evenly spaced validation segments",
                 "how": "Split.window(seg, 0, n_ctx + 1), targets = positions 1.., mean cross-entropy (nats) "
                        "per target token; the same targets for both models (ngram.py docstring)",
                 "transformer": tm, "transformer_first48_as_train_py": first48,
                 "ngram": ng, "per_source": per_source},
        "onnx": {"file": args.onnx_name, "bytes": size, "mb": round(size / 1e6, 2), "sha256": sha256(path),
                 "opset": OPSET, "exporter": "torch.onnx.export(dynamo=False)"},
        "verify": ver,
        "sample": {"val_segment": seq, "prompt_tokens": len(prompt), "generated_tokens": len(gen),
                   "notes_per_part": per_part, "seed": args.seed},
        "sampling": SAMPLING,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxruntime": onnxruntime.__version__, "numpy": np.__version__},
        "cpu_count": os.cpu_count(), "export_wall_s": None,
    }
    facts["export_wall_s"] = round(time.time() - t_start)
    facts_path = args.facts or os.path.join(args.out_dir, "export_facts.json")
    with open(facts_path, "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out_dir}/{{{args.onnx_name}, vocab.json, continuo.toml, ONNX.md, greedy_reference.json}} "
          f"and {facts_path} in {facts['export_wall_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
