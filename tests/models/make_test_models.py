"""Builds the test models: tiny ONNX graphs for the `tone-test` family, and broken variants.

The tone-test graph emits a known tone per step: for step s it returns
    audio[c, n] = AMPLITUDE * cos(2*pi*FREQ_HZ * (s*F + n) / RATE)      (F = frames per step)
a continuous cosine, so a test can predict every sample the plugin plays. Broken variants check
that bad models are refused with a clear message.

usage: python make_test_models.py OUT_DIR
"""

import hashlib
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

RATE = 32000
FRAME_RATE = 50  # steps per second
FRAMES_PER_STEP = RATE // FRAME_RATE
FREQ_HZ = 440.0
AMPLITUDE = 0.5


def tone_graph(num_channels: int, input_name: str = "step", input_type=TensorProto.INT64) -> onnx.ModelProto:
    const = lambda name, arr: helper.make_node(
        "Constant", [], [name], value=helper.make_tensor(name + "_v", TensorProto.FLOAT, arr.shape, arr.flatten().tolist())
    )
    n = np.arange(FRAMES_PER_STEP, dtype=np.float32).reshape(1, FRAMES_PER_STEP)
    nodes = [
        helper.make_node("Cast", [input_name], ["step_f"], to=TensorProto.FLOAT),
        const("frames_per_step", np.array([float(FRAMES_PER_STEP)], dtype=np.float32)),
        helper.make_node("Mul", ["step_f", "frames_per_step"], ["offset"]),
        const("n", n),
        helper.make_node("Add", ["n", "offset"], ["t_samples"]),
        const("omega", np.array([2.0 * np.pi * FREQ_HZ / RATE], dtype=np.float32)),
        helper.make_node("Mul", ["t_samples", "omega"], ["phase"]),
        helper.make_node("Cos", ["phase"], ["wave"]),
        const("amp", np.array([AMPLITUDE], dtype=np.float32)),
        helper.make_node("Mul", ["wave", "amp"], ["mono"]),
        const("tile", np.ones((num_channels, 1), dtype=np.float32)),
        helper.make_node("Mul", ["tile", "mono"], ["audio"]),
    ]
    graph = helper.make_graph(
        nodes,
        "continuo_tone_test",
        [helper.make_tensor_value_info(input_name, input_type, [1])],
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [num_channels, FRAMES_PER_STEP])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="continuo-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_model(folder: str, model: onnx.ModelProto, num_channels: int, name: str, with_sha: bool = True, graph_path: str = "tone.onnx", family_table: str = "") -> None:
    os.makedirs(folder, exist_ok=True)
    onnx_path = os.path.join(folder, "tone.onnx")
    onnx.save(model, onnx_path)
    sha_line = f'sha256 = "{sha256(onnx_path)}"\n' if with_sha else ""
    with open(os.path.join(folder, "continuo.toml"), "w") as f:
        f.write(
            f'family = "tone-test"\nname = "{name}"\n'
            f'description = "Test double: a {FREQ_HZ:.0f} Hz tone, for tests only"\n'
            f'license = "CC0-1.0"\nsample_rate = {RATE}\nchannels = {num_channels}\nframe_rate = {FRAME_RATE}.0\n\n'
            f'[files.graph]\npath = "{graph_path}"\n{sha_line}'
            f'{family_table}'
        )


def main(out: str) -> None:
    write_model(os.path.join(out, "tone"), tone_graph(1), 1, "Test tone (mono)")
    write_model(os.path.join(out, "tone-stereo"), tone_graph(2), 2, "Test tone (stereo)")

    # A graph whose input is not what the family expects.
    write_model(os.path.join(out, "bad-inputs"), tone_graph(1, "tokens", TensorProto.FLOAT), 1, "Wrong inputs")

    # A truncated .onnx: the first half of a good one; no checksum so the graph parser sees it.
    folder = os.path.join(out, "truncated")
    write_model(folder, tone_graph(1), 1, "Truncated", with_sha=False)
    path = os.path.join(folder, "tone.onnx")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])

    # A manifest naming a file that is not there.
    folder = os.path.join(out, "missing-file")
    write_model(folder, tone_graph(1), 1, "Missing file", with_sha=False)
    os.remove(os.path.join(folder, "tone.onnx"))

    # A manifest whose path escapes the model folder.
    folder = os.path.join(out, "escape")
    write_model(folder, tone_graph(1), 1, "Escape", with_sha=False, graph_path="../tone/tone.onnx")

    # Fault doubles: the same tone with a fault the tone-test family injects (see tone_test.rs).
    write_model(os.path.join(out, "tone-panics"), tone_graph(1), 1, "Panics in begin",
                family_table='\n[tone-test]\nfault = "panic-in-begin"\n')
    write_model(os.path.join(out, "tone-fails"), tone_graph(1), 1, "Fails at step 3",
                family_table='\n[tone-test]\nfault = "error-at-step"\nfault_step = 3\n')
    write_model(os.path.join(out, "tone-nan"), tone_graph(1), 1, "Writes NaN",
                family_table='\n[tone-test]\nfault = "nan"\n')
    print(f"test models written to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
