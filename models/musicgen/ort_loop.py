"""A plain Python ONNX Runtime loop over an exported MusicGen folder: the reference the Rust family
is benchmarked against (`cargo xtask bench-musicgen`), and a check that the exported graphs
reproduce transformers' generate() (`python ort_loop.py --check tests/fixtures/musicgen/mono`).

It does what generate() does, with numpy: encode the text (and the audio prompt), double the batch
for classifier-free guidance (the unconditional half sees zero encoder states and a zero mask),
lay the codebooks out in MusicGen's delay pattern, step the merged decoder with its key/value
cache (the cross-attention cache kept from the first step), and decode the codes with EnCodec.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort


class MusicgenOrt:
    def __init__(self, folder: Path, threads: int = 1, int8: bool = False):
        manifest = tomllib.loads((folder / "continuo.toml").read_text())
        cfg = manifest["musicgen"]
        files = {role: folder / f["path"] for role, f in manifest["files"].items()}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        open_ = lambda role: ort.InferenceSession(str(files[role]), opts, providers=["CPUExecutionProvider"])
        self.text_encoder = open_("text_encoder")
        self.decoder = open_("decoder_int8" if int8 else "decoder")
        self.audio_decoder = open_("audio_decoder")
        self.audio_encoder = open_("audio_encoder") if "audio_encoder" in files else None
        self.num_codebooks = cfg["num_codebooks"]
        self.channels = manifest.get("channels", 1)
        self.pad = cfg["pad_token_id"]
        self.start = cfg["decoder_start_token_id"]
        self.num_layers = cfg["num_layers"]
        self.num_heads = cfg["num_heads"]
        self.head_dim = cfg["head_dim"]

    def delay_pattern(self, prompt: np.ndarray, max_length: int):
        """prompt (K, seq) -> (first tokens to feed (K, start), mask (K, max_length), -1 = free)."""
        k, seq = prompt.shape
        per_channel = k // self.channels
        shifted = -np.ones((k, max_length), dtype=np.int64)
        for c in range(per_channel):
            for ch in range(self.channels):
                row = c * self.channels + ch
                shifted[row, c : seq + c] = prompt[row]
        t = np.arange(max_length)
        c_of_row = np.arange(k) // self.channels
        bos = t[None, :] <= c_of_row[:, None]
        eos = t[None, :] >= (max_length - per_channel + 1 + c_of_row)[:, None]
        mask = np.where(bos | eos, self.pad, shifted)
        free = np.nonzero(mask[0] == -1)[0]
        start = int(free[0]) if len(free) else seq
        return mask[:, :start], mask

    def generate(self, input_ids, guidance, max_new_tokens, audio_prompt=None, step_times=None):
        ids = np.array([input_ids], dtype=np.int64)
        mask = np.ones_like(ids)
        hidden = self.text_encoder.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        cfg = guidance is not None and guidance > 1
        if cfg:
            hidden = np.concatenate([hidden, np.zeros_like(hidden)])
            mask = np.concatenate([mask, np.zeros_like(mask)])
        batch = hidden.shape[0]
        k = self.num_codebooks
        prompt = np.full((k, 1), self.start, dtype=np.int64)
        if audio_prompt is not None:  # (channels, samples)
            codes = []
            for ch in range(self.channels):
                x = audio_prompt[ch][None, None, :].astype(np.float32)
                codes.append(self.audio_encoder.run(None, {"input_values": x})[0][0])  # (K/ch, frames)
            per = np.empty((k, codes[0].shape[1]), dtype=np.int64)
            for ch in range(self.channels):
                per[ch :: self.channels] = codes[ch]
            prompt = np.concatenate([prompt, per], axis=1)
        max_length = prompt.shape[1] + max_new_tokens
        seq, pattern = self.delay_pattern(prompt, max_length)
        seq = seq.copy()
        past = {}
        for layer in range(self.num_layers):
            for kind in ("decoder", "encoder"):
                for kv in ("key", "value"):
                    past[f"past_key_values.{layer}.{kind}.{kv}"] = np.zeros(
                        (batch, self.num_heads, 0, self.head_dim), dtype=np.float32
                    )
        outputs = [o.name for o in self.decoder.get_outputs()]
        feed = np.tile(seq, (batch, 1))
        first = True
        while seq.shape[1] < max_length:
            t0 = time.perf_counter()
            inputs = {
                "input_ids": feed,
                "encoder_hidden_states": hidden,
                "encoder_attention_mask": mask,
                "use_cache_branch": np.array([not first]),
                **past,
            }
            result = dict(zip(outputs, self.decoder.run(outputs, inputs)))
            logits = result["logits"][:, -1, :].reshape(batch, k, -1)
            if cfg:
                logits = logits[1] + guidance * (logits[0] - logits[1])
            else:
                logits = logits[0]
            nxt = logits.argmax(-1).astype(np.int64)  # greedy
            pos = seq.shape[1]
            nxt = np.where(pattern[:, pos] == -1, nxt, pattern[:, pos])
            seq = np.concatenate([seq, nxt[:, None]], axis=1)
            feed = np.tile(nxt[:, None], (batch, 1))
            for name, value in result.items():
                if name.startswith("present."):
                    key = name.replace("present.", "past_key_values.")
                    if first or ".decoder." in name:
                        past[key] = value
            first = False
            if step_times is not None:
                step_times.append(time.perf_counter() - t0)
        seq = np.where(pattern[:, : seq.shape[1]] == -1, seq, pattern[:, : seq.shape[1]])
        codes = seq[seq != self.pad].reshape(k, -1)
        audio = []
        for ch in range(self.channels):
            c = codes[ch :: self.channels][None, None]
            audio.append(self.audio_decoder.run(None, {"audio_codes": c})[0][0, 0])
        return codes, np.stack(audio)


def check(fixture: Path) -> None:
    ref = json.loads((fixture / "reference.json").read_text())
    model = MusicgenOrt(fixture / "model")
    for case in ref["cases"]:
        prompt = None
        if case["audio_prompt"]:
            raw = np.fromfile(fixture / case["audio_prompt"], dtype="<f4")
            prompt = raw.reshape(-1, ref["num_channels"]).T
        codes, audio = model.generate(case["input_ids"], case["guidance"], case["max_new_tokens"], prompt)
        expected = np.array(case["codes"])
        want = np.fromfile(fixture / case["audio"], dtype="<f4").reshape(-1, ref["num_channels"]).T
        same = codes.shape == expected.shape and (codes == expected).all()
        err = np.abs(audio - want).max() / max(np.abs(want).max(), 1e-9) if audio.shape == want.shape else float("inf")
        print(f"{fixture.name} {case['name']}: codes {'equal' if same else 'DIFFER'} {codes.shape}, audio error {err:.2e} of peak")


def bench(folder: Path, seconds: float, threads: int) -> None:
    """Median decoder step with guidance over `seconds` of frames: the Rust bench's reference."""
    model = MusicgenOrt(folder, threads=threads)
    manifest = tomllib.loads((folder / "continuo.toml").read_text())
    frames = int(seconds * manifest["frame_rate"])
    times = []
    t0 = time.perf_counter()
    model.generate([30, 16, 19, 9, 31, 21, 1], 3.0, frames + model.num_codebooks // model.channels - 1,
                   step_times=times)
    total = time.perf_counter() - t0
    step = float(np.median(times[1:]))
    print(f"python onnxruntime loop: {step * 1e3:.1f} ms per step with guidance (median of {len(times) - 1}), "
          f"{1 / step:.2f} steps/s; whole take {total:.2f} s, {seconds / total:.3f}x real time")
    print(f"RESULT python_step_ms={step * 1e3:.3f}")
    print(f"RESULT python_take_rt={seconds / total:.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", type=Path, nargs="+", help="fixture folders to reproduce")
    parser.add_argument("--bench", type=Path, help="a model folder to time")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for f in args.check or []:
        check(f)
    if args.bench:
        bench(args.bench, args.seconds, args.threads)


if __name__ == "__main__":
    main()
