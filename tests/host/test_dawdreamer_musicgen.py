"""A MusicGen model in DawDreamer: the tiny random model `export.py --tiny-random` wrote
(tests/fixtures/musicgen/mono/model) continues two bars of a tone the VST3 hears as its track's
audio, on the bar after the trigger, with the prompt set through the saved state."""

from pathlib import Path

import numpy as np
import pytest

from conftest import state_with

daw = pytest.importorskip("dawdreamer")

RATE = 44100
BLOCK = 512
BPM = 120.0
ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "musicgen" / "mono" / "model"


def param_index(plugin, name):
    for p in plugin.get_parameters_description():
        if p["name"] == name:
            return p["index"]
    raise AssertionError(f"no parameter named {name}")


def test_musicgen_continues_the_tracks_audio_on_the_next_bar(vst3_path, tmp_path):
    seconds_per_bar = 4 * 60 / BPM
    bar = int(round(seconds_per_bar * RATE))
    engine = daw.RenderEngine(RATE, BLOCK)
    engine.set_bpm(BPM)
    # Two bars of a 220 Hz tone, then silence: the track's audio.
    t = np.arange(4 * bar) / RATE
    tone = np.where(t < 2 * seconds_per_bar, 0.3 * np.sin(2 * np.pi * 220 * t), 0.0).astype(np.float32)
    source = engine.make_playback_processor("track", np.stack([tone, tone]))
    plugin = engine.make_plugin_processor("continuo", str(vst3_path))
    plugin.save_state(str(tmp_path / "state"))
    raw = open(tmp_path / "state", "rb").read()
    (tmp_path / "musicgen-state").write_bytes(
        state_with(raw, model_dir=str(MODEL), prompt="warm lofi piano | dusty drums")
    )
    plugin.load_state(str(tmp_path / "musicgen-state"))
    plugin.set_parameter(param_index(plugin, "Length"), 0.0)  # 1 bar (range 1..32)
    plugin.set_parameter(param_index(plugin, "Context"), 2 / 16)  # 2 bars
    plugin.set_parameter(param_index(plugin, "Mix"), 1.0)  # the take only
    plugin.set_parameter(param_index(plugin, "Bounce Mode"), 1.0)
    engine.load_graph([(source, []), (plugin, ["track"])])
    engine.render(0.5)  # activate and load the model
    automation = np.zeros(4 * bar, dtype=np.float32)
    trigger = 2 * bar - BLOCK  # the last block of bar 2
    automation[trigger : trigger + RATE // 10] = 1.0
    plugin.set_automation(param_index(plugin, "Generate"), automation)
    engine.load_graph([(source, []), (plugin, ["track"])])
    engine.render(4 * seconds_per_bar)
    audio = engine.get_audio()
    assert np.all(audio[:, : 2 * bar] == 0), "sound before the take (mix is 100%)"
    take = audio[:, 2 * bar : 3 * bar]
    assert np.sqrt(np.mean(take**2)) > 1e-3, "the continuation is silent"
    first = int(np.argmax(np.abs(audio[0]) > 1e-6))
    assert 2 * bar <= first < 2 * bar + 64, f"the take starts at frame {first}, not on bar 3 ({2 * bar})"
    assert np.all(audio[:, 3 * bar :] == 0), "sound after the one-bar take"
