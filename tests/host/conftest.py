"""Shared fixtures for the host tests: where `cargo xtask test` put the bundles and test models."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

# The test model: a 440 Hz cosine at 0.5 amplitude from sample 0 (see tests/models).
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5
FADE_SECONDS = 0.03


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the host tests through `cargo xtask test`")
    path = Path(value)
    if not path.exists():
        pytest.fail(f"{name}={value} does not exist: run `cargo xtask test`")
    return path


@pytest.fixture(scope="session")
def vst3_path() -> Path:
    return _env_path("CONTINUO_TEST_VST3")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return _env_path("CONTINUO_TEST_MODELS")


def sine(rate: int, seconds: float, hz: float = 220.0, amplitude: float = 0.25, channels: int = 2) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono] * channels)


# JUCE (pedalboard) wraps a VST3 plugin's state as b"VC2!" + u32 length + XML + NUL, with the
# component state in <IComponent>SIZE.DATA</IComponent>, DATA in JUCE's own base64: the bytes as
# one little-endian bit stream, six bits per character from this alphabet.
_JUCE_B64 = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
_COMPONENT = re.compile(rb"<IComponent>(\d+)\.([^<]*)</IComponent>")


def _juce_decode(size: int, text: str) -> bytes:
    # Four characters carry 24 bits, exactly three bytes, so the stream splits into groups.
    out = bytearray()
    for i in range(0, len(text), 4):
        group = 0
        for j, c in enumerate(text[i : i + 4]):
            group |= _JUCE_B64.index(c) << (6 * j)
        out += group.to_bytes(3, "little")
    return bytes(out[:size])


def _juce_encode(data: bytes) -> str:
    num_chars = (len(data) * 8 + 5) // 6
    padded = data + b"\x00" * (-len(data) % 3)
    chars = []
    for i in range(0, len(padded), 3):
        group = int.from_bytes(padded[i : i + 3], "little")
        chars.extend(_JUCE_B64[(group >> (6 * j)) & 63] for j in range(4))
    return "".join(chars[:num_chars])


def plugin_state(raw: bytes) -> dict:
    """The plugin's own state (nice-plug's JSON) inside pedalboard's raw_state."""
    m = _COMPONENT.search(raw)
    assert m, f"no component state in {raw[:80]!r}"
    return json.loads(_juce_decode(int(m.group(1)), m.group(2).decode()))


def with_plugin_state(raw: bytes, component: bytes) -> bytes:
    """pedalboard's raw_state with the plugin's own state replaced by `component`."""
    xml = _COMPONENT.sub(
        lambda m: b"<IComponent>%d.%s</IComponent>" % (len(component), _juce_encode(component).encode()),
        raw[8:].rstrip(b"\x00"),
    )
    return raw[:4] + len(xml).to_bytes(4, "little") + xml + b"\x00"


def state_with(raw: bytes, **fields) -> bytes:
    """raw_state with some persisted fields replaced (nice-plug stores each as JSON text)."""
    state = plugin_state(raw)
    for key, value in fields.items():
        state["fields"][key.replace("_", "-")] = json.dumps(value)
    return with_plugin_state(raw, json.dumps(state).encode())


def state_fields(raw: bytes) -> dict:
    return {k: json.loads(v) for k, v in plugin_state(raw)["fields"].items()}
