#!/usr/bin/env python3
"""Compare Continuo's saved VST3 state between two Ardour session files.

Usage: chunks.py A.ardour B.ardour

Finds the <Processor> whose plugin is named Continuo, decodes its base64 <chunk>, and prints
the sizes, the SHA-256 of each, whether they are identical, and (when they differ) the first
differing byte offsets. Also compares the <Port id= value=> parameter values Ardour writes
next to the chunk. Exit status: 0 identical, 1 different, 2 not found.
"""
import base64
import hashlib
import sys
import xml.etree.ElementTree as ET


def continuo_state(path):
    root = ET.parse(path).getroot()
    for proc in root.iter("Processor"):
        for vst in proc.iter("vst3"):
            chunk = vst.find("chunk")
            if chunk is None:
                continue
            name = proc.get("name", "")
            if "Continuo" not in name:
                continue
            ports = {p.get("id"): p.get("value") for p in vst.findall("Port")}
            return name, base64.b64decode((chunk.text or "").strip()), ports
    return None


def main():
    a, b = sys.argv[1], sys.argv[2]
    sa, sb = continuo_state(a), continuo_state(b)
    if not sa or not sb:
        print(f"[chunk] Continuo state not found in {a if not sa else b}")
        return 2
    for path, (name, data, ports) in ((a, sa), (b, sb)):
        print(f"[chunk] {path}: processor '{name}', {len(data)} bytes, "
              f"sha256 {hashlib.sha256(data).hexdigest()[:16]}, {len(ports)} ports")
    same = sa[1] == sb[1]
    print(f"[chunk] chunks identical: {same}")
    if not same:
        diffs = [i for i in range(min(len(sa[1]), len(sb[1]))) if sa[1][i] != sb[1][i]]
        print(f"[chunk] {len(diffs)} differing bytes (of the common length), first at {diffs[:8]}")
        for label, data in (("A", sa[1]), ("B", sb[1])):
            start = max(0, (diffs[0] if diffs else min(len(sa[1]), len(sb[1]))) - 40)
            print(f"[chunk] {label} around first diff: {data[start:start + 120]!r}")
    port_diffs = {k: (sa[2].get(k), sb[2].get(k)) for k in set(sa[2]) | set(sb[2]) if sa[2].get(k) != sb[2].get(k)}
    print(f"[chunk] port values identical: {not port_diffs}" + (f" differences: {port_diffs}" if port_diffs else ""))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
