"""Builds the MusicGen test fixtures: tiny random models exported by export.py, and what
transformers' own `generate()` makes with them, so CI can check the Rust family against the
reference implementation without torch.

    python models/musicgen/make_fixtures.py tests/fixtures/musicgen

For each layout (mono: 4 codebooks; stereo: 8 interleaved) it writes `<layout>/model/` (the
exported folder) and `<layout>/reference.json` with one case per combination of guidance
(none, 3.0) and prompt (text only, text and an audio prompt): the prompt, the greedy codes
`generate()` chose (codebooks x frames, delay pattern removed) and the file holding the audio it
decoded (`<case>.f32`: little-endian float32, channels interleaved). The audio prompt is a
seeded chord of sines in `audio-prompt.f32` at the model's rate.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
PROMPT = "warm lofi piano with dusty drums"
NUM_NEW_TOKENS = 40
AUDIO_PROMPT_SECONDS = 0.5


def audio_prompt(rate: int, channels: int) -> np.ndarray:
    """(channels, samples): an A minor chord, a different voicing per channel."""
    t = np.arange(int(rate * AUDIO_PROMPT_SECONDS)) / rate
    out = []
    for c in range(channels):
        freqs = [220.0, 261.63, 329.63] if c == 0 else [110.0, 164.81, 440.0]
        out.append(sum(0.2 * np.sin(2 * math.pi * f * t) for f in freqs))
    return np.stack(out).astype(np.float32)


def capture_codes(model):
    """Wraps the audio decoder so each call's codes are recorded."""
    seen = []
    decode = model.audio_encoder.decode

    def recording(audio_codes, *args, **kwargs):
        seen.append(audio_codes.clone())
        return decode(audio_codes, *args, **kwargs)

    model.audio_encoder.decode = recording
    return seen


def make(layout: str, out: Path) -> None:
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    stereo = layout == "stereo"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "ckpt"
        model_dir = out / "model"
        shutil.rmtree(model_dir, ignore_errors=True)
        cmd = [sys.executable, str(HERE / "export.py"), "--tiny-random", "--out", str(model_dir),
               "--keep-checkpoint", str(ckpt), "--seed", "1234" if not stereo else "4321"]
        if stereo:
            cmd.append("--stereo")
        subprocess.run(cmd, check=True)
        model = MusicgenForConditionalGeneration.from_pretrained(ckpt).eval()
        tokenizer = AutoTokenizer.from_pretrained(ckpt)
    rate = model.config.audio_encoder.sampling_rate
    channels = model.config.decoder.audio_channels
    prompt_audio = audio_prompt(rate, channels)
    prompt_audio.T.astype("<f4").tofile(out / "audio-prompt.f32")
    inputs = tokenizer([PROMPT], return_tensors="pt", padding=True)
    cases = []
    for with_audio in (False, True):
        for guidance in (1.0, 3.0):
            name = f"{'audio' if with_audio else 'text'}-cfg{guidance:g}"
            seen = capture_codes(model)
            kwargs = dict(
                input_ids=inputs.input_ids,
                attention_mask=inputs.attention_mask,
                do_sample=False,
                guidance_scale=guidance,
                max_new_tokens=NUM_NEW_TOKENS,
            )
            if with_audio:
                kwargs["input_values"] = torch.from_numpy(prompt_audio)[None]
            with torch.no_grad():
                audio = model.generate(**kwargs)
            model.audio_encoder.decode = type(model.audio_encoder).decode.__get__(model.audio_encoder)
            codes = seen[0][0, 0] if not stereo else torch.empty(0)
            if stereo:
                # The decoder was called per channel with 4 codebooks each: re-interleave.
                left, right = seen[0][0, 0], seen[1][0, 0]
                codes = torch.empty((left.shape[0] * 2, left.shape[1]), dtype=left.dtype)
                codes[0::2] = left
                codes[1::2] = right
            samples = audio[0].numpy()  # (channels, samples)
            samples.T.astype("<f4").tofile(out / f"{name}.f32")
            cases.append({
                "name": name,
                "prompt": PROMPT,
                "input_ids": inputs.input_ids[0].tolist(),
                "guidance": guidance,
                "audio_prompt": "audio-prompt.f32" if with_audio else None,
                "max_new_tokens": NUM_NEW_TOKENS,
                "codes": codes.tolist(),
                "audio": f"{name}.f32",
                "num_audio_frames": int(samples.shape[1]),
                "audio_peak": float(np.abs(samples).max()),
            })
            print(f"{layout} {name}: codes {tuple(codes.shape)}, audio {samples.shape}")
    meta = {
        "generated_by": "transformers " + __import__("transformers").__version__
        + ", torch " + torch.__version__ + ", generate(do_sample=False)",
        "sample_rate_hz": rate,
        "num_channels": channels,
        "num_codebooks": model.config.decoder.num_codebooks,
        "audio_prompt_frames": int(prompt_audio.shape[1]),
        "cases": cases,
    }
    (out / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")


def fp16_decoder(path: Path, num_layers: int = 2) -> None:
    """A graph with the merged decoder's names but float16 tensors, as a half-precision export
    would have: Continuo must refuse it by name. (Identity ops: it only has to load.)"""
    import onnx
    from onnx import TensorProto, helper

    f16, i64 = TensorProto.FLOAT16, TensorProto.INT64
    inputs = [
        helper.make_tensor_value_info("input_ids", i64, ["rows", "seq"]),
        helper.make_tensor_value_info("encoder_hidden_states", f16, ["batch", "enc", 32]),
        helper.make_tensor_value_info("encoder_attention_mask", i64, ["batch", "enc"]),
        helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]),
    ]
    outputs = [helper.make_tensor_value_info("logits", f16, ["batch", "enc", 32])]
    nodes = [helper.make_node("Identity", ["encoder_hidden_states"], ["logits"])]
    for layer in range(num_layers):
        for kind in ("decoder", "encoder"):
            for kv in ("key", "value"):
                past, present = f"past_key_values.{layer}.{kind}.{kv}", f"present.{layer}.{kind}.{kv}"
                inputs.append(helper.make_tensor_value_info(past, f16, ["batch", 2, "len", 16]))
                outputs.append(helper.make_tensor_value_info(present, f16, ["batch", 2, "len", 16]))
                nodes.append(helper.make_node("Identity", [past], [present]))
    graph = helper.make_graph(nodes, "fp16_decoder", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/fixtures/musicgen")
    torch.set_num_threads(2)
    for layout in ("mono", "stereo"):
        make(layout, root / layout)
    fp16_decoder(root / "decoder_fp16.onnx")


if __name__ == "__main__":
    main()
