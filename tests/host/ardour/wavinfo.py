#!/usr/bin/env python3
"""Onsets/offsets of sound in a WAV file (PCM 16/24/32 or IEEE float), with numpy.

Usage: wavinfo.py FILE [BAR_FRAMES]   (BAR_FRAMES default 96000: 120 BPM 4/4 at 48 kHz)

Prints the format, the peak, and for channel 0 every onset (first sample with |x| > 1e-6 after
at least 10 ms of silence) and offset (first sample of a >= 10 ms run of silence), in frames
and in bars (bar 1 = frame 0). Also the frequency of the loudest stretch, by zero crossings.
"""
import struct
import sys

import numpy as np


def read_wav(path):
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a RIFF/WAVE file"
    pos, fmt, samples = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real tag is in the sub-format GUID
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            samples = body
        pos += 8 + size + (size & 1)
    tag, channels, rate, bits = fmt
    if tag == 3 and bits == 32:
        x = np.frombuffer(samples, "<f4")
    elif tag == 3 and bits == 64:
        x = np.frombuffer(samples, "<f8")
    elif tag == 1 and bits == 16:
        x = np.frombuffer(samples, "<i2") / 32768.0
    elif tag == 1 and bits == 32:
        x = np.frombuffer(samples, "<i4") / 2147483648.0
    elif tag == 1 and bits == 24:
        b = np.frombuffer(samples, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / 8388608.0
    else:
        raise SystemExit(f"unsupported WAV format tag={tag} bits={bits}")
    return rate, channels, bits, x.reshape(-1, channels)


def edges(ch, rate, threshold=1e-6):
    hold = rate // 100
    loud = np.abs(ch) > threshold
    out, sounding, quiet = [], False, 0
    idx = np.flatnonzero(loud)
    if idx.size == 0:
        return out
    # walk the gaps between loud samples
    start = idx[0]
    out.append(("onset", int(start)))
    gaps = np.flatnonzero(np.diff(idx) > hold)
    for g in gaps:
        out.append(("offset", int(idx[g] + 1)))
        out.append(("onset", int(idx[g + 1])))
    if idx[-1] + 1 < len(ch):
        out.append(("offset", int(idx[-1] + 1)))
    return out


def main():
    path = sys.argv[1]
    bar = int(sys.argv[2]) if len(sys.argv) > 2 else 96000
    rate, channels, bits, x = read_wav(path)
    ch = x[:, 0]
    print(f"[wav] {path}: {rate} Hz, {channels} ch, {bits} bit, {len(ch)} frames "
          f"({len(ch) / rate:.3f} s), peak {np.max(np.abs(x)) if x.size else 0:.4f}")
    ev = edges(ch, rate)
    if not ev:
        print("[wav] silent: no sample above 1e-6")
    for kind, pos in ev:
        nearest = round(pos / bar)
        print(f"[wav] {kind} {pos} (bar {1 + pos / bar:.6f}, {pos - nearest * bar:+d} frames from bar {nearest + 1})")
    for i in range(0, len(ev) - 1, 2):
        a, b = ev[i][1], ev[i + 1][1]
        seg = ch[a:b]
        mid = seg[len(seg) // 4: 3 * len(seg) // 4]
        if len(mid) > rate // 20:
            zc = np.count_nonzero(np.diff(np.signbit(mid)))
            print(f"[wav] sound {a}..{b}: {b - a} frames, ~{zc / 2 / (len(mid) / rate):.1f} Hz, "
                  f"peak {np.max(np.abs(seg)):.4f}")


if __name__ == "__main__":
    main()
