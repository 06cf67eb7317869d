"""The panel in a real host window: it opens, and typing reaches the prompt (keyboard focus
inside a host is a classic failure of plugin GUIs). Runs DawDreamer under Xvfb with openbox."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOOLS = ["Xvfb", "openbox", "xdotool", "wmctrl", "import"]


@pytest.fixture(scope="module")
def display():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing {missing}: `cargo xtask test` installs xvfb, openbox, xdotool, wmctrl and imagemagick")
    number = 90 + os.getpid() % 9
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24"], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    env = dict(os.environ, DISPLAY=f":{number}")
    wm = subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    yield env
    wm.terminate()
    xvfb.terminate()


def test_typing_reaches_the_prompt(vst3_path, display, tmp_path):
    artifacts = Path(os.environ.get("CONTINUO_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = str(artifacts / "panel.png")
    text = "jazzy night drive, brushed drums"
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("editor_session.py")), str(vst3_path), screenshot, text],
        env=display, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report.get("typed"), report
    assert report["prompt"] == text, f"the panel's prompt did not get the keys: {report}"
    assert Path(screenshot).stat().st_size > 10_000
