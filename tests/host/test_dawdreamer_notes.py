"""The shipped notes model in DawDreamer: fed the demo riff as MIDI, the VST3 plays a
continuation on the bar after the trigger. (DawDreamer 0.9 records only the MIDI it sends a
plugin, not what the plugin sends back, so the plugin's MIDI output is checked in the engine's
tests, tests/notes_plugin.rs, where every note of the take must go out as MIDI.)"""

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import state_with

daw = pytest.importorskip("dawdreamer")

RATE = 44100
BLOCK = 512
BPM = 120.0
ROOT = Path(__file__).resolve().parents[2]


def notes_model() -> Path:
    path = Path(os.environ.get("CONTINUO_TEST_NOTES_MODEL", ROOT / "models" / "notes"))
    if not (path / "continuo.toml").is_file():
        pytest.fail(f"no notes model at {path}")
    return path


def param_index(plugin, name):
    for p in plugin.get_parameters_description():
        if p["name"] == name:
            return p["index"]
    raise AssertionError(f"no parameter named {name}")


def test_fed_midi_it_plays_a_continuation_on_the_next_bar(vst3_path, tmp_path):
    engine = daw.RenderEngine(RATE, BLOCK)
    engine.set_bpm(BPM)
    plugin = engine.make_plugin_processor("continuo", str(vst3_path))
    # Load the notes model through the saved state, as a project would.
    plugin.save_state(str(tmp_path / "state"))
    raw = open(tmp_path / "state", "rb").read()
    (tmp_path / "notes-state").write_bytes(state_with(raw, model_dir=str(notes_model())))
    plugin.load_state(str(tmp_path / "notes-state"))
    plugin.set_parameter(param_index(plugin, "Length"), 1 / 31)  # 2 bars (range 1..32)
    plugin.set_parameter(param_index(plugin, "Context"), 2 / 16)  # 2 bars
    plugin.set_parameter(param_index(plugin, "Seed"), 7 / 99999)
    plugin.set_parameter(param_index(plugin, "Bounce Mode"), 1.0)
    engine.load_graph([(plugin, [])])
    engine.render(0.5)  # activate and load the model
    # The demo riff: two bars of A minor, as MIDI into the plugin.
    plugin.load_midi(str(ROOT / "assets" / "demo-riff.mid"), clear_previous=True, beats=False, all_events=False)
    seconds_per_bar = 4 * 60 / BPM
    n = int(RATE * 4 * seconds_per_bar)
    automation = np.zeros(n, dtype=np.float32)
    trigger = int(2 * seconds_per_bar * RATE) - BLOCK  # the last block of bar 2
    automation[trigger : trigger + RATE // 10] = 1.0
    plugin.set_automation(param_index(plugin, "Generate"), automation)
    engine.load_graph([(plugin, [])])
    engine.render(4 * seconds_per_bar)
    audio = engine.get_audio()
    bar = int(round(seconds_per_bar * RATE))
    take = audio[:, 2 * bar : 4 * bar]
    assert np.sqrt(np.mean(take**2)) > 1e-3, "the continuation is silent"
    assert np.all(audio[:, : 2 * bar] == 0), "sound before the continuation's bar"
