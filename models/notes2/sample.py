"""Continue a validation segment with a trained checkpoint and write MIDI (a listening check).

    build/venv/bin/python sample.py --ckpt build/train/checkpoint.pt --val 3 --out build/sample.mid
    build/venv/bin/python sample.py --ckpt build/train/checkpoint.pt --check-cache

The prompt is the segment's header and first --context-bars bars (TOKENS.md "Prompt"); the
model writes --bars more with the KV-cache path (forward_cached, as the Rust runtime will),
decoded by the streaming decoder. The MIDI holds the prompt and the continuation, one track per
part (drums on channel 10). --check-cache asserts that the cached path gives the same logits
as the training path.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokens as T  # noqa: E402
from model import Config, NotesLM  # noqa: E402
from train import Split  # noqa: E402

GM_PROGRAMS = {"BASS": 33, "CHORDS": 4, "PAD": 89, "ARP": 81, "LEAD": 80}


def load(ckpt):
    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    m = NotesLM(Config(**ck["config"]))
    m.load_state_dict(ck["model"])
    m.eval()
    return m, ck.get("step")


def empty_past(cfg):
    return torch.zeros(cfg.n_layers, 2, 1, cfg.n_heads, 0, cfg.head_dim)


@torch.no_grad()
def check_cache(model, ids):
    x = torch.tensor([ids])
    full = model(x)
    past = empty_past(model.cfg)
    half = len(ids) // 2
    l1, past = model.forward_cached(x[:, :half], past, torch.tensor([0]))
    outs = [l1]
    for i in range(half, len(ids)):
        li, past = model.forward_cached(x[:, i:i + 1], past, torch.tensor([i]))
        outs.append(li)
    cached = torch.cat(outs, dim=1)
    err = (full - cached).abs().max().item()
    print(f"max |logits(forward) - logits(forward_cached)| = {err:.2e}")
    return err < 1e-3


@torch.no_grad()
def generate(model, prompt, bars, temperature, top_k, seed, max_tokens):
    g = torch.Generator().manual_seed(seed)
    past = empty_past(model.cfg)
    logits, past = model.forward_cached(torch.tensor([prompt]), past, torch.tensor([0]))
    out, opened = [], 0
    pos = len(prompt)
    while len(out) < max_tokens and pos < model.cfg.n_ctx:
        lg = logits[0, -1] / max(temperature, 1e-5)
        lg[T.PAD] = -1e9
        lg[T.BOS] = -1e9
        if top_k:
            v, _ = torch.topk(lg, top_k)
            lg[lg < v[-1]] = -1e9
        tok = int(torch.multinomial(torch.softmax(lg, -1), 1, generator=g))
        if tok == T.EOS:
            break
        if tok == T.BAR:
            opened += 1
            if opened >= bars:          # the BAR that would open continuation bar `bars`
                break
        out.append(tok)
        logits, past = model.forward_cached(torch.tensor([[tok]]), past, torch.tensor([pos]))
        pos += 1
    return out


def write_midi(path, parts_by_offset, bpm, num, den):
    import mido
    mf = mido.MidiFile(ticks_per_beat=T.TPB)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    mf.tracks.append(meta)
    roles = sorted({r for parts, _ in parts_by_offset for r in parts}, key=T.ROLES.index)
    ch_next = 0
    for role in roles:
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=role, time=0))
        if role == "DRUMS":
            ch = 9
        else:
            ch = ch_next
            ch_next += 1 if ch_next != 8 else 2
            tr.append(mido.Message("program_change", channel=ch, program=GM_PROGRAMS[role], time=0))
        ev = []
        for parts, off in parts_by_offset:
            for s, d, p, v in parts.get(role, []):
                ev.append((off + s, 1, p, v))
                ev.append((off + s + d, 0, p, 0))
        ev.sort()
        t = 0
        for at, on, p, v in ev:
            tr.append(mido.Message("note_on" if on else "note_off", channel=ch, note=p, velocity=v if on else 0,
                                   time=at - t))
            t = at
        mf.tracks.append(tr)
    mf.save(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "build", "train", "checkpoint.pt"))
    ap.add_argument("--data", default=os.path.join(HERE, "build", "data"))
    ap.add_argument("--val", type=int, default=0, help="validation sequence index")
    ap.add_argument("--context-bars", type=int, default=4)
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=0.9)
    ap.add_argument("--top-k", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "build", "sample.mid"))
    ap.add_argument("--check-cache", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, step = load(args.ckpt)
    val = Split(args.data, "val")
    start, n, plen, nb, _ = val.index[args.val]
    seq = val.tokens[start:start + n].astype(np.int64).tolist()
    if args.check_cache:
        ok = check_cache(model, seq[:200])
        return 0 if ok else 1
    bars = [i for i, t in enumerate(seq) if t == T.BAR]
    cb = min(args.context_bars, len(bars) - 1)
    prompt = seq[:bars[cb]] + [T.BAR]
    header = [T.NAMES[t] for t in seq[:plen]]
    ts = next((h for h in header if h.startswith("TS_")), "TS_4_4").split("_")
    num, den = int(ts[1]), int(ts[2])
    tempo = next((int(h.split("_")[1]) for h in header if h.startswith("TEMPO_")), 120)
    print(f"checkpoint step {step}; val {args.val}: {' '.join(header)}; prompt {len(prompt)} tokens")
    gen = generate(model, prompt, args.bars, args.temperature, args.top_k, args.seed,
                   max_tokens=model.cfg.n_ctx - len(prompt))
    L = T.bar_length_ticks(num, den)
    ctx = T.decode(prompt, num, den)
    cont = T.decode(prompt + gen, num, den, prompt_len=len(prompt))
    print(f"generated {len(gen)} tokens, {gen.count(T.BAR) + 1} bars; notes per part: "
          f"{ {r: len(v) for r, v in cont.items()} }")
    write_midi(args.out, [(ctx, 0), (cont, cb * L)], tempo, num, den)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
