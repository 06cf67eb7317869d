"""Writes the demo riff: two bars at 120 BPM in A minor, as demo-riff.mid and demo-riff.wav.

The WAV is rendered by a small additive electric-piano voice (sine partials with decay), so the
demo has no dependency on a soundfont. Run from the repository root:
    python assets/make_demo_riff.py
"""

import struct
import wave

import numpy as np

BPM = 120
RATE = 44100
TICKS_PER_BEAT = 480
# (start beat, length in beats, MIDI pitch, velocity): an A minor arpeggio riff with a bass note.
NOTES = [
    (0.0, 2.0, 45, 90), (0.0, 0.5, 69, 96), (0.5, 0.5, 72, 80), (1.0, 0.5, 76, 84), (1.5, 0.5, 72, 76),
    (2.0, 2.0, 41, 88), (2.0, 0.5, 69, 92), (2.5, 0.5, 72, 78), (3.0, 0.5, 77, 86), (3.5, 0.5, 72, 74),
    (4.0, 2.0, 48, 90), (4.0, 0.5, 67, 94), (4.5, 0.5, 72, 80), (5.0, 0.5, 76, 84), (5.5, 0.5, 79, 78),
    (6.0, 2.0, 40, 92), (6.0, 0.5, 68, 90), (6.5, 0.5, 71, 80), (7.0, 1.0, 76, 88),
]


def write_midi(path: str) -> None:
    events = []
    for start, length, pitch, velocity in NOTES:
        events.append((int(start * TICKS_PER_BEAT), 0x90, pitch, velocity))
        events.append((int((start + length) * TICKS_PER_BEAT), 0x80, pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))  # note-offs (0x80) before note-ons at the same tick
    track = bytearray()
    tempo = 60_000_000 // BPM
    track += b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big")
    track += b"\x00\xff\x58\x04\x04\x02\x18\x08"
    last = 0
    for tick, status, pitch, velocity in events:
        delta = tick - last
        last = tick
        vlq = [delta & 0x7F]
        delta >>= 7
        while delta:
            vlq.insert(0, (delta & 0x7F) | 0x80)
            delta >>= 7
        track += bytes(vlq) + bytes([status, pitch, velocity])
    track += b"\x00\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


def render(path: str) -> None:
    seconds_per_beat = 60.0 / BPM
    total = int(8 * seconds_per_beat * RATE)
    out = np.zeros(total)
    for start, length, pitch, velocity in NOTES:
        freq = 440.0 * 2 ** ((pitch - 69) / 12)
        n0 = int(start * seconds_per_beat * RATE)
        n = min(int((length * seconds_per_beat + 0.3) * RATE), total - n0)
        t = np.arange(n) / RATE
        tone = sum(a * np.sin(2 * np.pi * freq * k * t) * np.exp(-t * d) for k, a, d in [(1, 1.0, 2.5), (2, 0.35, 5.0), (3, 0.12, 9.0)])
        release = np.clip((length * seconds_per_beat + 0.3 - t) / 0.3, 0, 1)
        attack = np.clip(t / 0.004, 0, 1)
        out[n0 : n0 + n] += (velocity / 127) * 0.18 * tone * release * attack
    out = np.clip(out, -1, 1)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((out * 32767).astype("<i2").tobytes())


if __name__ == "__main__":
    write_midi("assets/demo-riff.mid")
    render("assets/demo-riff.wav")
    print("wrote assets/demo-riff.mid and assets/demo-riff.wav")
