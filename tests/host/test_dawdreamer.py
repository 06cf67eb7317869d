"""The VST3 in DawDreamer: parameters by index and name, state, and an offline render in which a
take from the test model starts exactly on the next bar after the trigger."""

import numpy as np
import pytest

from conftest import FADE_SECONDS, TONE_AMPLITUDE, TONE_HZ

daw = pytest.importorskip("dawdreamer")

RATE = 44100
BLOCK = 512
BPM = 120.0


def make(vst3_path, rate=RATE, block=BLOCK):
    engine = daw.RenderEngine(rate, block)
    engine.set_bpm(BPM)
    plugin = engine.make_plugin_processor("continuo", str(vst3_path))
    return engine, plugin


def param_index(plugin, name):
    for p in plugin.get_parameters_description():
        if p["name"] == name:
            return p["index"]
    raise AssertionError(f"no parameter named {name}: {plugin.get_parameters_description()}")


def test_parameters_by_name(vst3_path):
    _, plugin = make(vst3_path)
    names = [p["name"] for p in plugin.get_parameters_description()]
    for expected in ["Mix", "Output Gain", "Temperature", "Top K", "Top P", "Guidance",
                     "Context", "Length", "Sync", "Loop", "Generate", "Seed"]:
        assert expected in names


def test_dry_render_passes_input(vst3_path):
    engine, plugin = make(vst3_path)
    t = np.arange(RATE * 2) / RATE
    audio = np.stack([0.25 * np.sin(2 * np.pi * 220 * t)] * 2).astype(np.float32)
    source = engine.make_playback_processor("source", audio)
    engine.load_graph([(source, []), (plugin, ["source"])])
    engine.render(2.0)
    out = engine.get_audio()
    np.testing.assert_allclose(out[:, : audio.shape[1]], audio, atol=1e-6)


def test_state_round_trip(vst3_path, tmp_path):
    engine, plugin = make(vst3_path)
    plugin.set_parameter(param_index(plugin, "Seed"), 0.5)
    # DawDreamer hands parameter changes to the plugin with the next block.
    engine.load_graph([(plugin, [])])
    engine.render(0.05)
    path = str(tmp_path / "state")
    plugin.save_state(path)
    _, other = make(vst3_path)
    other.load_state(path)
    assert abs(other.get_parameter(param_index(other, "Seed")) - 0.5) < 1e-4


def expected_take(num_frames: int) -> np.ndarray:
    fade = int(FADE_SECONDS * RATE)
    n = np.arange(num_frames)
    gain = np.minimum(np.minimum(1.0, (n + 1) / fade), (num_frames - n) / fade)
    return TONE_AMPLITUDE * np.cos(2 * np.pi * TONE_HZ * n / RATE) * gain


def render_with_trigger(vst3_path, seconds: float, bounce: bool) -> np.ndarray:
    engine, plugin = make(vst3_path)
    plugin.set_parameter(param_index(plugin, "Length"), 0.0)  # 1 bar (range 1..32)
    plugin.set_parameter(param_index(plugin, "Bounce Mode"), 1.0 if bounce else 0.0)
    # A first render activates the plugin, which loads its bundled (test) model.
    engine.load_graph([(plugin, [])])
    engine.render(1.0)
    n = int(RATE * seconds)
    automation = np.zeros(n, dtype=np.float32)
    trigger_at = int(1.5 * 60 / BPM * RATE)  # beat 1.5 of bar 1
    automation[trigger_at : trigger_at + RATE // 10] = 1.0
    plugin.set_automation(param_index(plugin, "Generate"), automation)
    silence = engine.make_playback_processor("silence", np.zeros((2, n), dtype=np.float32))
    engine.load_graph([(silence, []), (plugin, ["silence"])])
    engine.render(seconds)
    return engine.get_audio()


def test_bounce_mode_render_places_the_take_on_the_next_bar(vst3_path):
    """With Bounce Mode on (DawDreamer reports real-time processing, so the plugin cannot know
    it is bouncing), the render waits for the model: triggered in bar 1, the take starts on the
    first sample of bar 2 and holds the test tone from there, to the sample."""
    out = render_with_trigger(vst3_path, 8.0, bounce=True)
    bar = int(round(4 * 60 / BPM * RATE))  # 88,200 frames
    assert np.all(out[:, :bar] == 0), "sound before bar 2"
    assert out[0, bar] > 0, "the take's first sample is not on bar 2's first sample"
    got = out[0, bar : 2 * bar]
    assert np.abs(got - expected_take(bar)).max() < 5e-3
    assert np.all(out[:, 2 * bar :] == 0), "the take did not end after one bar"


def test_render_places_the_take_on_a_bar_line(vst3_path):
    """DawDreamer 0.9 prepares the plugin for real-time processing (the activation log says so)
    but renders far faster than real time, which the VST3 takes for a bounce (audio/freewheel.rs)
    once half a second of audio has gone by: the take starts on a bar line, sample-exact, and then
    plays the test tone from its first sample. With Bounce Mode on (the test above) or a host
    that says it renders offline (the CLAP harness), the take lands on the very next bar."""
    out = render_with_trigger(vst3_path, 300.0, bounce=False)
    bar = int(round(4 * 60 / BPM * RATE))  # 88,200 frames
    nonzero = np.nonzero(np.abs(out[0]) > 0)[0]
    assert len(nonzero) > 0, "the take never played"
    start = int(nonzero[0])
    assert start % bar == 0, f"take starts at frame {start}, not on a bar line ({bar} frames a bar)"
    assert start >= bar, "the take started before the bar after the trigger"
    got = out[0, start : start + bar]
    # 32 -> 44.1 kHz resampling: the take matches within a few thousandths.
    assert np.abs(got - expected_take(bar)).max() < 5e-3
    assert np.all(out[:, start + bar :] == 0), "the take did not end after one bar"
