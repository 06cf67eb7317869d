"""The VST3 in pedalboard: loads, passes audio, parameters by name, state round trip, bad state,
a huge prompt, and a take from the bundled test model."""

import numpy as np
import pedalboard
import pytest

from conftest import TONE_AMPLITUDE, TONE_HZ, sine, state_fields, state_with

RATE = 48000


@pytest.fixture()
def plugin(vst3_path):
    return pedalboard.load_plugin(str(vst3_path))


def test_loads_and_names_its_parameters(plugin):
    names = set(plugin.parameters.keys())
    for expected in ["mix", "output_gain_db", "temperature", "top_k", "top_p", "guidance",
                     "context_bars", "length_bars", "sync", "loop", "generate", "seed"]:
        assert expected in names, f"{expected} missing from {sorted(names)}"


def test_dry_signal_passes_untouched(plugin):
    audio = sine(RATE, 1.0)
    out = plugin.process(audio, RATE, buffer_size=512)
    assert out.shape == audio.shape
    np.testing.assert_array_equal(out, audio)


@pytest.mark.parametrize("rate", [22050, 44100, 96000, 192000])
def test_dry_signal_at_other_rates_and_odd_blocks(plugin, rate):
    audio = sine(rate, 0.5)
    for block in [1, 7, 333, 4096]:
        out = plugin.process(audio, rate, buffer_size=block, reset=True)
        np.testing.assert_array_equal(out, audio)


def test_parameters_set_by_name_change_the_sound(plugin):
    audio = sine(RATE, 0.5)
    plugin.output_gain_db = -6.0
    plugin.process(audio, RATE)  # let the smoother settle
    out = plugin.process(audio, RATE, reset=False)
    ratio = np.abs(out[:, RATE // 4 :]).max() / np.abs(audio).max()
    assert abs(ratio - 10 ** (-6 / 20)) < 1e-3
    plugin.mix = 0.0  # dry only, at unity
    plugin.output_gain_db = 0.0
    plugin.process(audio, RATE)
    out = plugin.process(audio, RATE, reset=False)
    np.testing.assert_allclose(out[:, RATE // 4 :], audio[:, RATE // 4 :], atol=1e-6)


def test_state_round_trips(vst3_path, plugin):
    plugin.mix = 0.25
    plugin.seed = 1234
    plugin.loop = True
    raw = state_with(plugin.raw_state, prompt="dusty lo-fi keys, warm tape")
    plugin.raw_state = raw
    other = pedalboard.load_plugin(str(vst3_path))
    other.raw_state = plugin.raw_state
    fields = state_fields(other.raw_state)
    assert fields["prompt"] == "dusty lo-fi keys, warm tape"
    # pedalboard does not refresh its parameter cache after a state load; read the state instead.
    again = pedalboard.load_plugin(str(vst3_path))
    again.raw_state = other.raw_state
    assert state_fields(again.raw_state)["prompt"] == "dusty lo-fi keys, warm tape"


def test_corrupt_state_is_refused_and_audio_passes(plugin):
    audio = sine(RATE, 0.25)
    for garbage in [b"", b"\x00\x01garbage", b'{"params": {"mix": {"F32": "nope"}}', b"{" * 10000]:
        try:
            plugin.raw_state = garbage
        except Exception:
            pass  # refusing is fine; crashing is not
        out = plugin.process(audio, RATE, reset=True)
        np.testing.assert_array_equal(out, audio)


def test_a_one_megabyte_prompt_is_cut(plugin):
    huge = "la " * (1024 * 1024 // 3)
    plugin.raw_state = state_with(plugin.raw_state, prompt=huge)
    audio = sine(RATE, 0.25)
    out = plugin.process(audio, RATE, reset=True)  # activation clamps the prompt
    np.testing.assert_array_equal(out, audio)
    prompt = state_fields(plugin.raw_state)["prompt"]
    assert 0 < len(prompt.encode()) <= 2048
    assert huge.startswith(prompt)


def test_generate_plays_the_test_tone(plugin, models_dir):
    plugin.raw_state = state_with(plugin.raw_state, model_dir=str(models_dir / "tone"))
    silence = np.zeros((2, RATE), dtype=np.float32)
    plugin.process(silence, RATE, reset=True)  # activation loads the model
    plugin.sync = "Now"
    plugin.length_bars = 1
    plugin.generate = True
    out = plugin.process(np.zeros((2, RATE * 3), dtype=np.float32), RATE, reset=False)
    # pedalboard gives no transport: the take starts at once and lasts one bar at 120 BPM.
    played = np.abs(out[0]) > 1e-4
    assert played.any(), "no take was played"
    start = int(np.argmax(played))
    take = out[0, start : start + 2 * RATE]
    t = np.arange(len(take)) / RATE
    fade = int(0.03 * RATE)
    expected = TONE_AMPLITUDE * np.cos(2 * np.pi * TONE_HZ * t)
    np.testing.assert_allclose(take[fade:-fade], expected[fade:-fade], atol=2e-3)


def test_nan_in_the_context_ends_cleanly_and_the_next_take_plays(plugin, models_dir):
    """NaN and infinity in the input while the context is captured: with the dry path muted the
    output stays finite, processing never hangs, and a take still plays, twice in a row."""
    plugin.raw_state = state_with(plugin.raw_state, model_dir=str(models_dir / "tone"))
    silence = np.zeros((2, RATE), dtype=np.float32)
    plugin.process(silence, RATE, reset=True)  # activation loads the model
    plugin.sync = "Now"
    plugin.length_bars = 1
    mix = plugin.parameters["mix"]
    plugin.mix = getattr(mix, "max_value", None) or mix.range[1]  # 100 %: take only
    plugin.process(silence, RATE, reset=False)  # let the mix smoother settle
    poisoned = sine(RATE, 1.0)
    poisoned[:, ::997] = np.nan
    poisoned[:, 1::997] = np.inf
    poisoned[:, 2::997] = -np.inf
    for attempt in range(2):
        plugin.generate = False
        out = plugin.process(poisoned, RATE, reset=False)
        assert np.isfinite(out).all(), f"take {attempt + 1}: NaN reached the output with the dry path muted"
        plugin.generate = True
        out = plugin.process(np.zeros((2, RATE * 3), dtype=np.float32), RATE, reset=False)
        assert np.isfinite(out).all()
        assert (np.abs(out[0]) > 0.1).any(), f"take {attempt + 1} did not play after a NaN context"


def test_a_bundle_without_its_runtime_library_still_passes_audio(vst3_path, tmp_path):
    """The bundle's ONNX Runtime library is gone: the plugin loads, cannot load a model (the
    panel and log say the library was not found, see tests/no_runtime.rs for the message), and
    passes audio untouched even when asked to generate."""
    import shutil

    broken = tmp_path / "continuo.vst3"
    shutil.copytree(vst3_path, broken)
    for lib in (broken / "Contents" / "x86_64-linux").glob("libonnxruntime*"):
        lib.unlink()
    plugin = pedalboard.load_plugin(str(broken))
    audio = sine(RATE, 0.5)
    plugin.process(audio, RATE, reset=True)
    plugin.sync = "Now"
    plugin.generate = True
    out = plugin.process(audio, RATE, reset=False)
    np.testing.assert_array_equal(out, audio)
