"""Opens Continuo's panel in DawDreamer on an X display, types a prompt into it with xdotool,
takes a screenshot, closes the window, and prints the prompt the plugin saved, as JSON.

usage: python editor_session.py VST3 SCREENSHOT TEXT   (DISPLAY must be set)
"""

import json
import subprocess
import sys
import threading
import time

import dawdreamer as daw

from conftest import plugin_state


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10).stdout


def drive(screenshot: str, text: str, done: dict) -> None:
    try:
        window = ""
        for _ in range(100):
            window = xdotool("search", "--name", "Continuo").split()
            if window:
                break
            time.sleep(0.1)
        if not window:
            done["error"] = "the editor window never appeared"
            return
        wid = window[-1]
        time.sleep(1.0)  # let egui paint its first frames
        geometry = xdotool("getwindowgeometry", "--shell", wid)
        pos = dict(line.split("=") for line in geometry.split() if "=" in line)
        x, y = int(pos["X"]), int(pos["Y"])
        # The prompt box sits under the heading and status lines, in the left column.
        xdotool("mousemove", str(x + 200), str(y + 108), "click", "1")
        time.sleep(0.3)
        xdotool("type", "--delay", "20", text)
        time.sleep(1.0)
        subprocess.run(["import", "-window", "root", screenshot], timeout=20)
        done["typed"] = True
    finally:
        # Close the host's window through the window manager, as its close button does. Its
        # title is not in the EWMH name, so close every top-level window by id (the display is
        # this test's own).
        listing = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, timeout=10).stdout
        for line in listing.splitlines():
            subprocess.run(["wmctrl", "-i", "-c", line.split()[0]], capture_output=True, timeout=10)


def main() -> None:
    vst3, screenshot, text = sys.argv[1:4]
    engine = daw.RenderEngine(48000, 512)
    plugin = engine.make_plugin_processor("continuo", vst3)
    engine.load_graph([(plugin, [])])
    engine.render(0.2)
    done: dict = {}
    threading.Thread(target=drive, args=(screenshot, text, done), daemon=True).start()
    plugin.open_editor()
    engine.render(0.1)
    path = screenshot + ".state"
    plugin.save_state(path)
    raw = open(path, "rb").read()
    fields = {k: json.loads(v) for k, v in plugin_state(raw)["fields"].items()}
    print(json.dumps({"prompt": fields["prompt"], **done}))


if __name__ == "__main__":
    main()
