"""Export the notes transformer to ONNX with a KV cache, verify it with ONNX Runtime,
and write vocab.json, continuo.toml and MODEL_CARD.md beside it (see ONNX.md).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402
from dataset import DEFAULT_CACHE, Split  # noqa: E402
from model import Config, NotesLM  # noqa: E402

OPSET = 17
MAX_BYTES = 20 * 1024 * 1024
SAMPLING = {"temperature": 0.9, "top_k": 32, "top_p": 0.95}


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


def export(model: NotesLM, path: str) -> None:
    cfg = model.cfg
    ids = torch.randint(4, cfg.vocab_size, (1, 3), dtype=torch.int64)
    past = torch.zeros(cfg.n_layers, 2, 1, cfg.n_heads, 5, cfg.head_dim)
    off = torch.tensor([5], dtype=torch.int64)
    torch.onnx.export(
        CachedWrapper(model).eval(), (ids, past, off), path, opset_version=OPSET, dynamo=False,
        input_names=["input_ids", "past", "position_offset"], output_names=["logits", "present"],
        dynamic_axes={"input_ids": {1: "T"}, "past": {4: "P"}, "logits": {1: "T"}, "present": {4: "P_plus_T"}},
        do_constant_folding=True)


def verify(path: str, model: NotesLM, seq: np.ndarray, threads: int) -> dict:
    """Full-sequence forward vs a step-by-step loop with the cache (and a chunked one)."""
    import onnxruntime as ort
    cfg = model.cfg
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    empty = np.zeros((cfg.n_layers, 2, 1, cfg.n_heads, 0, cfg.head_dim), np.float32)
    ids = seq[None, :].astype(np.int64)
    full, present = sess.run(None, {"input_ids": ids, "past": empty, "position_offset": np.array([0], np.int64)})
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()
    steps, past = [], empty
    for i in range(ids.shape[1]):
        lg, past = sess.run(None, {"input_ids": ids[:, i:i + 1], "past": past,
                                   "position_offset": np.array([i], np.int64)})
        steps.append(lg)
    stepwise = np.concatenate(steps, axis=1)
    half = ids.shape[1] // 2
    a, past = sess.run(None, {"input_ids": ids[:, :half], "past": empty, "position_offset": np.array([0], np.int64)})
    b, past2 = sess.run(None, {"input_ids": ids[:, half:], "past": past,
                               "position_offset": np.array([half], np.int64)})
    chunked = np.concatenate([a, b], axis=1)
    t0 = time.time()
    n_bench = 50
    p = present
    for i in range(n_bench):
        _, p = sess.run(None, {"input_ids": ids[:, -1:], "past": p[:, :, :, :, :ids.shape[1]],
                               "position_offset": np.array([ids.shape[1]], np.int64)})
    step_ms = (time.time() - t0) / n_bench * 1000
    res = {"tokens": int(ids.shape[1]),
           "max_abs_diff_stepwise_vs_full": float(np.abs(stepwise - full).max()),
           "max_abs_diff_chunked_vs_full": float(np.abs(chunked - full).max()),
           "max_abs_diff_ort_vs_torch": float(np.abs(full - ref).max()),
           "present_shape": list(past2.shape),
           "ms_per_cached_step": round(step_ms, 2), "threads": threads}
    return res


def sample_continuation(path: str, cfg: Config, prompt, n_tokens: int, seed: int):
    """Plain ORT sampling loop (temperature / top-k / top-p), to show the whole path works."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    past = np.zeros((cfg.n_layers, 2, 1, cfg.n_heads, 0, cfg.head_dim), np.float32)
    ids = np.asarray(prompt, np.int64)[None, :]
    out = []
    pos = 0
    for _ in range(n_tokens):
        if pos + ids.shape[1] > cfg.n_ctx:
            break
        logits, past = sess.run(None, {"input_ids": ids, "past": past, "position_offset": np.array([pos], np.int64)})
        pos += ids.shape[1]
        lg = logits[0, -1].astype(np.float64) / SAMPLING["temperature"]
        lg[T.PAD] = -np.inf
        top = np.argsort(-lg)[: SAMPLING["top_k"]]
        pr = np.exp(lg[top] - lg[top].max())
        pr /= pr.sum()
        keep = np.cumsum(pr) - pr < SAMPLING["top_p"]
        top, pr = top[keep], pr[keep] / pr[keep].sum()
        tok = int(rng.choice(top, p=pr))
        out.append(tok)
        if tok == T.EOS:
            break
        ids = np.array([[tok]], np.int64)
    return out


def greedy_reference(path: str, cfg: Config, prompt, n_tokens: int) -> dict:
    """Argmax continuation through the cached loop: a fixture for the Rust ORT loop."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    past = np.zeros((cfg.n_layers, 2, 1, cfg.n_heads, 0, cfg.head_dim), np.float32)
    ids = np.asarray(prompt, np.int64)[None, :]
    out, pos, first = [], 0, None
    for _ in range(n_tokens):
        logits, past = sess.run(None, {"input_ids": ids, "past": past, "position_offset": np.array([pos], np.int64)})
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
                     "the first call's last position; compare logits with a tolerance of ~1e-3.",
            "onnx_sha256": sha256(path), "prompt_ids": [int(t) for t in prompt], "greedy_ids": out,
            "first_step_top5": first}


def write_manifest(out_dir: str, onnx_name: str, cfg: Config, name: str, licence: str, description: str):
    """continuo.toml in the plugin's manifest format (plugin/src/model/manifest.rs): common keys,
    [files.<role>] with sha256, and the family's own table, [notes]."""
    files = [("model", onnx_name), ("vocab", "vocab.json")]
    lines = [
        "# Continuo model manifest (plugin/src/model/manifest.rs).",
        "format_version = 1",
        'family = "notes"',
        f'name = "{name}"',
        f'description = "{description}"',
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
        'tokenizer = "continuo-notes-v1"',
        f"vocab_size = {cfg.vocab_size}",
        f"n_ctx = {cfg.n_ctx}",
        f"n_layers = {cfg.n_layers}",
        f"n_heads = {cfg.n_heads}",
        f"head_dim = {cfg.head_dim}",
        "",
    ]
    with open(os.path.join(out_dir, "continuo.toml"), "w") as f:
        f.write("\n".join(lines))


def write_card(out_dir: str, onnx_name: str, cfg: Config, tm: dict, ng: dict, meta: dict, ver: dict, name: str,
               licence: str):
    c = meta["counts"]
    size_mb = os.path.getsize(os.path.join(out_dir, onnx_name)) / 1e6
    hist = "\n".join(f"| {h['step']} | {h['elapsed_s']} | {h['train_loss_ema']:.4f} | {h['val_loss_subset']:.4f} |"
                     for h in tm.get("history", [])) or "| - | - | - | - |"
    busy = " (the other core was building the plugin)" if tm["threads"] < (tm["cpu_count"] or 1) else ""
    card = f"""# Model card: {name}

Continuo's shipped default model for the **notes** family: a small decoder-only transformer
that continues music written as bar-aware note events (TOKENS.md). It writes the next bars for
the plugin's own instruments; it makes no audio.

## Model

| | |
|---|---|
| architecture | pre-LayerNorm GPT, learned absolute positions, tied output embedding |
| parameters | {tm['params']:,} |
| d_model / layers / heads / d_ff | {cfg.d_model} / {cfg.n_layers} / {cfg.n_heads} / {cfg.d_ff} |
| context (n_ctx) | {cfg.n_ctx} tokens |
| vocabulary | {cfg.vocab_size} tokens, continuo-notes-v1 |
| file | `{onnx_name}`, ONNX opset {OPSET}, fp32, {size_mb:.1f} MB, KV cache (ONNX.md) |
| cached step on this machine | {ver['ms_per_cached_step']} ms per token, ONNX Runtime, {ver['threads']} intra-op thread(s) |
| licence | {licence} |

## Training

Trained from scratch by `models/notes/train_all.sh` on this project's development machine: a
{tm['cpu_count']}-core CPU ({tm['cpu']}), no GPU, {tm['threads']} training thread(s){busy},
torch {tm['torch']}, seed {tm['seed']}.

| | |
|---|---|
| optimizer steps | {tm['steps']} (batch {tm['batch']} x {tm['seq_len']} tokens) |
| tokens seen | {tm['tokens_seen']:,} |
| wall time | {tm['train_wall_s'] / 60:.1f} min training + evaluation ({tm['total_wall_s'] / 60:.1f} min total) |
| final train loss (EMA) | {tm['final_train_loss_ema']:.4f} |

| step | elapsed s | train loss (EMA) | val loss (subset) |
|---|---|---|---|
{hist}

## Evaluation

Held-out pieces (split by piece, seed {meta['args']['seed']}, {meta['args']['val_fraction']:.0%} of the
pieces, original key, no augmentation); the same {tm['val_tokens']:,} target tokens for both models.

| model | val loss (nats/token) | perplexity |
|---|---|---|
| this transformer | {tm['val_loss']:.4f} | {tm['val_ppl']:.3f} |
| add-k trigram baseline (k={ng['best_k']:g}, k picked on val) | {ng['val_loss']:.4f} | {ng['val_ppl']:.3f} |

ONNX check: step-by-step decoding with the KV cache vs a full-sequence forward over
{ver['tokens']} tokens, max |diff| of logits = {ver['max_abs_diff_stepwise_vs_full']:.2e}
(chunked {ver['max_abs_diff_chunked_vs_full']:.2e}; ONNX vs PyTorch {ver['max_abs_diff_ort_vs_torch']:.2e}).

## Data

Only scores whose public-domain status we can justify (DATA.md has the reasons), all from the
music21 {meta.get('music21', '')} corpus as shipped on PyPI:

{chr(10).join(f'- {k}: {v} pieces' for k, v in sorted(meta['pieces_by_collection'].items()))}

Styles: {', '.join(f'{k} {v}' for k, v in sorted(meta['pieces_by_style'].items()))}.
Train: {c['train']['pieces']} pieces, {c['train']['sequences']} sequences after augmentation,
{c['train']['tokens']:,} tokens. Validation: {c['val']['pieces']} pieces, {c['val']['tokens']:,} tokens.
Augmentation: up to {meta['args']['transpositions']} transpositions per piece (within MIDI 21..108),
tempo tag moved one bin with p={meta['args']['tempo_jitter']}, one velocity bin per copy, each tag
category dropped with p={meta['args']['tag_dropout']}. Excluded: the Essen folksongs
(non-commercial permission only), Palestrina and Josquin (encoders' copyright/licence agreements),
Monteverdi (edition copyright), share-alike and unattributed encodings.

## Intended use and limits

- Continuing a few bars of melody or four-part harmony in the plugin; the style, instrument,
  texture, density, register, key, metre and tempo tags steer it.
- It knows chorales and British/Irish folk dance tunes and airs only: no drums, no swing, no
  pop/jazz harmony; it has never seen velocities from a performance (velocity bins are
  synthetic), and the tempo tags of folk tunes are style defaults, not measurements.
- Small and trained for {tm['train_wall_s'] / 60:.0f} minutes on a CPU: expect plausible local
  voice-leading and rhythm, weaker long-range form.

Generated {datetime.date.today().isoformat()} by export.py.
"""
    with open(os.path.join(out_dir, "MODEL_CARD.md"), "w") as f:
        f.write(card)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", required=True, help="folder with checkpoint.pt, train_metrics.json, ngram_metrics.json")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--onnx-name", default="notes.onnx")
    ap.add_argument("--name", default="continuo-notes-v1")
    ap.add_argument("--licence", default="GPL-3.0-or-later")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    ck = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    cfg = Config(**ck["config"])
    model = NotesLM(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, args.onnx_name)
    export(model, path)
    size = os.path.getsize(path)
    print(f"exported {path}: {size / 1e6:.2f} MB", flush=True)
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes, over the {MAX_BYTES} byte limit")
    import onnx
    onnx.checker.check_model(path)

    val = Split(args.cache, "val")
    win = next(val.eval_windows(cfg.n_ctx))[:200]
    ver = verify(path, model, win, args.threads)
    print("verify:", json.dumps(ver), flush=True)
    worst = max(ver["max_abs_diff_stepwise_vs_full"], ver["max_abs_diff_chunked_vs_full"], ver["max_abs_diff_ort_vs_torch"])
    if not worst < 1e-3:
        raise SystemExit(f"KV-cache check failed: max abs diff {worst}")

    # A real continuation: prompt = tags + the first 4 bars of a validation piece.
    start, n, plen, nb = val.index[0]
    bar_offs = val.bars[val.bar_first[0]: val.bar_first[0] + nb]
    end = bar_offs[4] if nb > 4 else start + n - 1
    prompt = list(val.tokens[start:end]) + [T.BAR]
    gen = sample_continuation(path, cfg, prompt, 200, args.seed)
    ts = [T.NAMES[t] for t in prompt if T.NAMES[t].startswith("TS_")]
    num, den = (int(x) for x in ts[0][3:].split("_")) if ts else (4, 4)
    notes = T.decode(prompt + gen, num, den, prompt_len=len(prompt))
    print(f"sampled {len(gen)} tokens -> {len(notes)} notes; first: {notes[:6]}", flush=True)
    ver["sample_tokens"] = len(gen)
    ver["sample_notes"] = len(notes)

    ref = greedy_reference(path, cfg, prompt, 48)
    with open(os.path.join(args.out_dir, "greedy_reference.json"), "w") as f:
        json.dump(ref, f)
        f.write("\n")
    print(f"greedy reference: {len(ref['greedy_ids'])} tokens", flush=True)

    with open(os.path.join(args.out_dir, "vocab.json"), "w") as f:
        f.write(T.vocab_json_text())
    tm = json.load(open(os.path.join(args.run, "train_metrics.json")))
    ng = json.load(open(os.path.join(args.run, "ngram_metrics.json")))
    meta = json.load(open(os.path.join(args.cache, "meta.json")))
    import music21
    meta["music21"] = music21.__version__
    desc = "Small transformer that continues chorales and folk tunes as notes, trained on public-domain scores"
    write_manifest(args.out_dir, args.onnx_name, cfg, args.name, args.licence, desc)
    write_card(args.out_dir, args.onnx_name, cfg, tm, ng, meta, ver, args.name, args.licence)
    with open(os.path.join(args.run, "export_metrics.json"), "w") as f:
        json.dump(ver, f, indent=1)
    print(f"wrote {args.out_dir}/{{{args.onnx_name}, vocab.json, continuo.toml, MODEL_CARD.md, greedy_reference.json}}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
