"""Continuo in a real DAW: headless Ardour 7 (Debian's `ardour`, "None (Dummy)" backend, 48 kHz,
120 BPM 4/4, one bar = 96,000 frames). One session (tests/host/ardour/run.sh): a track carrying
the test bundle's Continuo, Generate automated on at beat 1.5 of bar 1 and Temperature automated
as a ramp; a live roll, Ardour's own export, a live roll again, save, reload in a new Ardour
process, and Ardour's command-line exporter on the saved session. The test model plays a 440 Hz
tone for Length = 1 bar, so the take's first sound marks where it landed.

Skipped, saying so, when Ardour 7 is not installed (`cargo xtask test` and `.ci/run` install it
when they may)."""

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import TONE_AMPLITUDE, TONE_HZ

HERE = Path(__file__).parent / "ardour"
sys.path.insert(0, str(HERE))
from wavinfo import read_wav  # noqa: E402

LUASESSION = Path("/usr/lib/ardour7/luasession")
RATE = 48_000
BAR = 96_000


@pytest.fixture(scope="module")
def ardour(vst3_path, tmp_path_factory):
    if not LUASESSION.exists():
        pytest.skip("Ardour 7 is not installed (Debian package `ardour`): the headless DAW test did not run")
    env = dict(os.environ, CONTINUO_VST3_DIR=str(Path(vst3_path).parent), PYTHON=sys.executable)
    # Ardour 7.3 sometimes dies in the session with Continuo (SIGSEGV or glibc's heap-corruption
    # abort, about one run in four; cause not yet found: Ardour or the plugin). A crashed run is
    # retried, up to three runs, each crash reported as a warning; three in a row fail the test.
    for attempt in (1, 2, 3):
        out = tmp_path_factory.mktemp("ardour")
        proc = subprocess.run(
            ["bash", str(HERE / "run.sh"), str(out)],
            env=env, capture_output=True, text=True, timeout=900,
        )
        print(proc.stdout)
        print(proc.stderr, file=sys.stderr)
        assert proc.returncode == 0, f"run.sh failed ({proc.returncode}): {proc.stderr[-2000:]}"
        crashed = re.findall(r"^## (\w+): exit (134|139)\b", proc.stdout, re.M)
        if not crashed:
            return out, proc.stdout
        warnings.warn(f"Ardour crashed in run {attempt}: {crashed} (see {out})")
    pytest.fail(f"Ardour crashed in three runs in a row: {crashed}\n{proc.stdout}")


def probe_onsets(report: str, stage: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(rf"^\[probe\] {stage} onset (\d+)", report, re.M)]


def first_sound(wav: Path) -> tuple[int, np.ndarray]:
    rate, _, _, x = read_wav(wav)
    assert rate == RATE
    loud = np.flatnonzero(np.abs(x[:, 0]) > 1e-6)
    assert loud.size > 0, f"{wav.name} is silent: the take is not in the export"
    return int(loud[0]), x[:, 0]


def assert_one_bar_of_tone(samples: np.ndarray, start: int, where: str):
    take = samples[start : start + BAR]
    assert take.size == BAR, f"{where}: the take is cut short"
    # The tone at full level between the fades, then silence after one bar.
    body = take[RATE // 10 : BAR - RATE // 10]
    assert abs(np.abs(body).max() - TONE_AMPLITUDE) < 0.01, f"{where}: peak {np.abs(body).max()}"
    crossings = np.count_nonzero(np.diff(np.signbit(body)))
    hz = crossings / 2 / (body.size / RATE)
    assert abs(hz - TONE_HZ) < 2, f"{where}: {hz:.1f} Hz"
    assert np.abs(samples[start + BAR + RATE // 100 : start + 2 * BAR]).max() < 1e-6, f"{where}: sound after the take"


def test_live_the_take_starts_on_the_first_sample_of_bar_2(ardour):
    """Ardour sends its beat position rounded to 1/1920 beat: before the fix the take started
    5 frames early (95,995). The bar line now comes from the exact sample position."""
    _, report = ardour
    onsets = probe_onsets(report, "live1")
    assert onsets[:1] == [BAR], f"live take onsets {onsets}, want [{BAR}]"


def test_the_export_holds_the_take_on_the_same_bar_as_live(ardour):
    """Ardour 7 marks its export only in each block's process mode (never in setupProcessing),
    which nice-plug drops: before the fix the export held the take on a later bar or not at all.
    The VST3 now sees a host rendering faster than real time as offline and waits for the take."""
    out, _ = ardour
    start, samples = first_sound(out / "export" / "continuo_export.wav")
    assert start == BAR, f"the exported take starts at frame {start}, live at {BAR}"
    assert_one_bar_of_tone(samples, start, "export")


def test_live_after_the_export_is_live_again(ardour):
    _, report = ardour
    onsets = probe_onsets(report, "live2")
    assert onsets[:1] == [BAR], f"live take after the export: onsets {onsets}"


def test_ardours_command_line_export_of_the_saved_session(ardour):
    out, _ = ardour
    start, samples = first_sound(out / "export" / "cli_export.wav")
    assert start == BAR, f"ardour7-export: the take starts at frame {start}"
    assert_one_bar_of_tone(samples, start, "ardour7-export")


def test_the_plugin_state_is_identical_after_save_and_reload(ardour):
    _, report = ardour
    assert "[chunk] chunks identical: True" in report, report
    assert "[chunk] port values identical: True" in report, report


def test_the_automated_temperature_reached_the_plugin(ardour):
    """The Temperature lane starts at 0.5 (the parameter's default is 1.0) and the session was
    saved with the playhead at 0: the plugin's own saved state holds the lane's value."""
    out, _ = ardour
    from chunks import continuo_state

    found = continuo_state(out / "session" / "continuo.ardour")
    assert found, "no Continuo state in the saved session"
    _, chunk, _ = found
    # Ardour keeps the component state in a .vstpreset container: a header, then nice-plug's
    # JSON, then a chunk list.
    start = chunk.index(b'{"version"')
    state, _ = json.JSONDecoder().raw_decode(chunk[start:].decode("utf-8", "replace"))
    value = state["params"]["temp"]
    if isinstance(value, dict):  # nice-plug writes {"F32": value}
        (value,) = value.values()
    assert abs(value - 0.5) < 1e-3, f"saved Temperature {value}, want the lane's 0.5"


def test_a_project_saved_with_generate_on_does_not_start_a_take_when_reopened(ardour):
    """Ardour restores a saved Generate = on as a parameter change after activation, which
    looks like a press of Generate: before the fix the reopened project played a take by itself.
    The probe logs any sound while the transport is stopped and every onset while it rolls."""
    _, report = ardour
    assert re.search(r"^\[G\] Generate after reopening:\s+1", report, re.M), report
    events = re.findall(r"^\[probe\] reopen (\S+) (\d+)", report, re.M)
    assert events, "the probe saw nothing after reopening (did the roll happen?)"
    sounds = [e for e in events if e[0] in ("onset", "stopped-sound")]
    assert not sounds, f"a take started by itself after reopening: {events}"
