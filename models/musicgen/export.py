"""Turns a Hugging Face MusicGen checkpoint into a Continuo model folder.

    python models/musicgen/export.py --checkpoint DIR --out MODEL_DIR [--int8]
    python models/musicgen/export.py --tiny-random [--stereo] --out MODEL_DIR [--int8]

`cargo xtask export-musicgen` runs this inside its own virtual environment
(models/musicgen/requirements.txt). The folder it writes holds:

- optimum's graphs for `--task text-to-audio`: text_encoder.onnx, decoder_model_merged.onnx (the
  decoder with and without its key/value cache, merged behind `use_cache_branch`, as optimum's own
  merge_decoders makes it; the CLI does not for this task) and encodec_decode.onnx;
- encodec_encode.onnx, the EnCodec encoder for audio prompts (optimum does not export it:
  torch.onnx.export with the TorchScript exporter, dynamic batch and sample axes);
- decoder_model_merged_int8.onnx with --int8 (ONNX Runtime's dynamic quantisation of the weights);
- tokenizer.json (the T5 tokenizer, for the `tokenizers` crate);
- continuo.toml, the manifest, with every file's sha256 and the model's dimensions.

`--tiny-random` builds a MusicGen with tiny dimensions and random weights from configs alone (no
download), for tests: T5 width 32, decoder width 32 with 2 layers and 2 heads, 4 codebooks of 1024
codes (8 interleaved with --stereo), EnCodec at 32 kHz with a hop of 640 samples. Its tokenizer is a
small Unigram model in the layout of T5's (Metaspace pieces, `</s>` appended).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

ENCODER_OPSET = 17

TINY_WORDS = (
    "a an and of the with in on for to lo fi lofi jazz jazzy piano keys drums drum beat bass "
    "guitar synth pad strings choir warm dusty tape vinyl chill ambient techno house funk soul "
    "rock pop epic calm happy sad dark bright slow fast groove loop melody chords 80s 90s retro "
    "electronic acoustic orchestral cinematic"
).split()


def tiny_tokenizer():
    """A Unigram tokenizer shaped like T5's: <pad>=0, </s>=1, <unk>=2, Metaspace pieces."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + w, -1.0 - 0.01 * i) for i, w in enumerate(TINY_WORDS)]
    vocab += [(c, -5.0) for c in letters]
    vocab += [("\u2581" + c, -5.5) for c in letters]
    tok = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return tok


# musicgen-small's dimensions (decoder 1024 wide, 24 layers, 16 heads, 4 x 2048 codes, EnCodec
# 32 kHz), with a 2-layer T5 of its width (the text encoder runs once per take): for benchmarks.
SMALL = dict(
    text=dict(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=2, num_heads=12),
    audio=dict(codebook_size=2048, hidden_size=128, codebook_dim=128, num_filters=64, num_lstm_layers=2),
    decoder=dict(vocab_size=2048, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                 ffn_dim=4096, max_position_embeddings=2048),
)


def build_tiny(out: Path, stereo: bool, seed: int, small: bool = False) -> None:
    """Writes a random-weight MusicGen checkpoint (config, weights, tokenizer) to `out`: tiny, or
    with musicgen-small's dimensions when `small`."""
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        PreTrainedTokenizerFast,
        T5Config,
    )

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text = T5Config(
        vocab_size=160,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        pad_token_id=0,
        eos_token_id=1,
    )
    audio = EncodecConfig(
        sampling_rate=32_000,
        audio_channels=1,
        # 1024 codes (10 bits) at 50 Hz: 500 bit/s per quantizer, so the 2.2 kbit/s target gives
        # 4 quantizers both where EnCodec builds them and where it encodes (with 64 codes the two
        # disagree and an audio prompt comes out with 7 codebooks).
        codebook_size=1024,
        hidden_size=16,
        num_filters=4,
        num_residual_layers=1,
        upsampling_ratios=[8, 5, 4, 4],
        target_bandwidths=[2.2],
        num_lstm_layers=1,
        use_causal_conv=False,
        normalize=False,
        chunk_length_s=None,
        overlap=None,
    )
    num_codebooks = 8 if stereo else 4
    decoder = MusicgenDecoderConfig(
        vocab_size=1024,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        ffn_dim=64,
        num_codebooks=num_codebooks,
        audio_channels=2 if stereo else 1,
        max_position_embeddings=1024,
        pad_token_id=1024,
        bos_token_id=1024,
        decoder_start_token_id=1024,
    )
    if small:
        for cfg, key in ((text, "text"), (audio, "audio"), (decoder, "decoder")):
            for name, value in SMALL[key].items():
                setattr(cfg, name, value)
        decoder.pad_token_id = decoder.bos_token_id = decoder.decoder_start_token_id = 2048
    config = MusicgenConfig.from_sub_models_config(text, audio, decoder)
    model = MusicgenForConditionalGeneration(config).eval()
    # EnCodec's codebooks start as zeros (training fills them), which would make every frame
    # encode to code 0 and decode to the same sound whatever its codes: give them random entries
    # so the audio depends on the codes and an audio prompt on the audio.
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
            layer.codebook.cluster_size.fill_(1.0)
    gen = model.generation_config
    gen.decoder_start_token_id = decoder.pad_token_id
    gen.pad_token_id = decoder.pad_token_id
    gen.bos_token_id = decoder.pad_token_id
    gen.max_length = 1500
    gen.do_sample = True
    gen.guidance_scale = 3.0
    model.save_pretrained(out)
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    ).save_pretrained(out)


def decode_per_channel(checkpoint: Path) -> None:
    """Stereo MusicGen interleaves 2 x N codebooks, but EnCodec decodes one channel of N at a time.
    optimum 2.1 traces encodec_decode with all 2N codebooks and fails on a stereo model; make its
    dummy codes N per channel (a no-op for mono)."""
    from optimum.utils import input_generators

    channels = json.loads((checkpoint / "config.json").read_text())["decoder"].get("audio_channels", 1)
    generator = input_generators.DummyEncodecInputGenerator
    if getattr(generator, "_continuo_channels", None) == channels:
        return
    original = getattr(generator, "_continuo_original_init", generator.__init__)

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.num_codebooks //= channels

    generator._continuo_original_init = original
    generator._continuo_channels = channels
    generator.__init__ = init


class EncodecEncoder(torch.nn.Module):
    """audio (batch, 1, samples) -> codes (batch, num_quantizers, frames), one chunk."""

    def __init__(self, encodec):
        super().__init__()
        self.encodec = encodec

    def forward(self, input_values):
        codes = self.encodec.encode(input_values, return_dict=True).audio_codes
        return codes[0]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export(checkpoint: Path, out: Path, int8: bool, name: str, licence: str) -> None:
    from optimum.exporters.onnx import main_export
    from optimum.onnx import merge_decoders
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    out.mkdir(parents=True, exist_ok=True)
    decode_per_channel(checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "optimum"
        main_export(str(checkpoint), output=raw, task="text-to-audio", device="cpu")
        for name_ in ("text_encoder.onnx", "encodec_decode.onnx"):
            shutil.copy(raw / name_, out / name_)
        merge_decoders(
            decoder=str(raw / "decoder_model.onnx"),
            decoder_with_past=str(raw / "decoder_with_past_model.onnx"),
            save_path=str(out / "decoder_model_merged.onnx"),
            strict=False,
        )
    model = MusicgenForConditionalGeneration.from_pretrained(checkpoint).eval()
    encoder = EncodecEncoder(model.audio_encoder).eval()
    dummy = torch.zeros(1, 1, model.audio_encoder.config.sampling_rate // 2)
    torch.onnx.export(
        encoder,
        (dummy,),
        str(out / "encodec_encode.onnx"),
        input_names=["input_values"],
        output_names=["audio_codes"],
        dynamic_axes={
            "input_values": {0: "batch_size", 2: "num_samples"},
            "audio_codes": {0: "batch_size", 2: "num_frames"},
        },
        opset_version=ENCODER_OPSET,
        dynamo=False,
    )
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            str(out / "decoder_model_merged.onnx"),
            str(out / "decoder_model_merged_int8.onnx"),
            weight_type=QuantType.QInt8,
        )
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    if not getattr(tokenizer, "is_fast", False):
        sys.exit(f"{checkpoint} has no fast tokenizer; Continuo needs tokenizer.json")
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    write_manifest(out, model, int8, name, licence)


def write_manifest(out: Path, model, int8: bool, name: str, licence: str) -> None:
    dec = model.config.decoder
    audio = model.config.audio_encoder
    text = model.config.text_encoder
    gen = model.generation_config
    frame_rate = audio.sampling_rate / int(torch.tensor(audio.upsampling_ratios).prod())
    files = {
        "text_encoder": "text_encoder.onnx",
        "decoder": "decoder_model_merged.onnx",
        "audio_decoder": "encodec_decode.onnx",
        "audio_encoder": "encodec_encode.onnx",
        "tokenizer": "tokenizer.json",
    }
    if int8:
        files["decoder_int8"] = "decoder_model_merged_int8.onnx"
    lines = [
        "# Continuo model manifest (plugin/src/model/manifest.rs), written by models/musicgen/export.py.",
        "format_version = 1",
        'family = "musicgen"',
        f"name = {json.dumps(name)}",
        f'description = {json.dumps("MusicGen, exported by optimum for Continuo")}',
        f"license = {json.dumps(licence)}",
        f"sample_rate = {audio.sampling_rate}",
        f"channels = {dec.audio_channels}",
        f"frame_rate = {frame_rate:g}",
        "",
        "[sampling]",
        f"guidance = {float(gen.guidance_scale or 3.0)}",
        "top_k = 250",
        "temperature = 1.0",
        "",
        "[musicgen]  # the family's own settings: dimensions the Rust side checks the graphs against",
        f"num_codebooks = {dec.num_codebooks}",
        f"codebook_size = {dec.vocab_size}",
        f"pad_token_id = {dec.pad_token_id}",
        f"decoder_start_token_id = {gen.decoder_start_token_id}",
        f"num_layers = {dec.num_hidden_layers}",
        f"num_heads = {dec.num_attention_heads}",
        f"head_dim = {dec.hidden_size // dec.num_attention_heads}",
        f"text_hidden_size = {text.d_model}",
        f"text_vocab_size = {text.vocab_size}",
        f"max_position_embeddings = {dec.max_position_embeddings}",
        f"codec_hop = {int(torch.tensor(audio.upsampling_ratios).prod())}",
        # The plugin steps the int8 decoder when there is one (about 1.5x faster on CPUs, codes
        # no longer identical to the float model's).
        f"prefer_int8 = {'true' if int8 else 'false'}",
        "",
    ]
    for role, path in files.items():
        lines += [f"[files.{role}]", f'path = "{path}"', f'sha256 = "{sha256(out / path)}"', ""]
    (out / "continuo.toml").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a local Hugging Face MusicGen folder")
    source.add_argument("--tiny-random", action="store_true", help="build a tiny random model")
    source.add_argument("--small-random", action="store_true",
                        help="build a random model with musicgen-small's dimensions (benchmarks)")
    parser.add_argument("--stereo", action="store_true", help="with --tiny-random: 8 codebooks")
    parser.add_argument("--seed", type=int, default=1234, help="with --tiny-random")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--int8", action="store_true", help="also a dynamically quantised decoder")
    parser.add_argument("--keep-checkpoint", type=Path, help="with --tiny-random: save it here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.tiny_random or args.small_random:
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = args.keep_checkpoint or Path(tmp) / "random-musicgen"
            build_tiny(ckpt, args.stereo, args.seed, small=args.small_random)
            layout = "stereo" if args.stereo else "mono"
            size = "small" if args.small_random else "tiny"
            export(ckpt, args.out, args.int8, f"{size}-random-musicgen-{layout}", "none (random weights, for tests)")
    else:
        if not (args.checkpoint / "config.json").is_file():
            sys.exit(f"{args.checkpoint} has no config.json: pass a local Hugging Face MusicGen folder")
        export(args.checkpoint, args.out, args.int8, args.checkpoint.name, "see the checkpoint's licence (MusicGen weights: CC-BY-NC 4.0)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
