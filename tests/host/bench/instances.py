"""Memory per instance: N instances of the VST3 in one process (pedalboard), each activated,
fed 30 s of audio (the input history fills), then each makes a take from the shipped model and
plays it. Prints the process's resident memory; run once with N=1 and once with N=8 (fresh
processes), and the difference over 7 is what each further instance costs.

    python instances.py BUNDLE RATE N   ->   RESULT rss_mb=... (and progress lines)
"""

import sys
import time

import numpy as np
import pedalboard


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    bundle, rate, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    block = 512
    second = np.zeros((2, rate), dtype=np.float32)
    t = np.arange(rate) / rate
    second[:] = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    plugins = []
    for _ in range(n):
        p = pedalboard.load_plugin(bundle)
        p.process(second, rate, buffer_size=block, reset=True)  # activation loads the model
        plugins.append(p)
    time.sleep(2.0)  # the loaders finish on their own threads
    for _ in range(30):
        for p in plugins:
            p.process(second, rate, buffer_size=block, reset=False)
    print(f"after 30 s of input each: {rss_mb():.1f} MB", flush=True)
    for p in plugins:
        p.sync = "Now"
        p.length_bars = 2
        p.generate = True
        p.process(second, rate, buffer_size=block, reset=False)
    for _ in range(8):
        for p in plugins:
            p.process(second, rate, buffer_size=block, reset=False)
        time.sleep(0.5)
    for p in plugins:
        p.generate = False
        p.process(second, rate, buffer_size=block, reset=False)
    print(f"RESULT rss_mb={rss_mb():.1f}", flush=True)


if __name__ == "__main__":
    main()
