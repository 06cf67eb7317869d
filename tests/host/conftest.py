"""Shared fixtures for the host tests: where `cargo xtask test` put the bundles and test models."""

import json
import os
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


def state_with(raw: bytes, **fields) -> bytes:
    """nice-plug state JSON with some persisted fields replaced (each field is itself JSON)."""
    start = raw.index(b"{")
    state = json.loads(raw[start : raw.rindex(b"}") + 1])
    for key, value in fields.items():
        state["fields"][key.replace("_", "-")] = json.dumps(value)
    return raw[:start] + json.dumps(state).encode() + raw[raw.rindex(b"}") + 1 :]


def state_fields(raw: bytes) -> dict:
    start = raw.index(b"{")
    state = json.loads(raw[start : raw.rindex(b"}") + 1])
    return {k: json.loads(v) for k, v in state["fields"].items()}
