#!/usr/bin/env bash
# Continuo in headless Ardour 7.3 (Debian package `ardour`): live playback, export, live again,
# save, reload, and Ardour's command-line exporter -- and a summary of what the plugin did.
#
# Usage: tests/host/ardour/run.sh [OUT_DIR]
#
# Environment:
#   CONTINUO_VST3_DIR   folder holding continuo.vst3          default <repo>/target/test-bundles
#   CONTINUO_ORT_LIBRARY  only if the plugin logs that it cannot find ONNX Runtime (the test bundle
#                       carries its own libonnxruntime next to continuo.so)
#   PYTHON              a python3 with numpy, for the WAV analysis  default: the first of
#                       <repo>/models/notes2/build/venv/bin/python, python3 that imports numpy
#   CONTINUO_SECONDS, CONTINUO_EXPORT_SECONDS, CONTINUO_BUFFER, CONTINUO_GEN_ON, CONTINUO_GEN_OFF,
#   CONTINUO_LENGTH_BARS, CONTINUO_SKIP_LIVE1, CONTINUO_SKIP_EXPORT: see live_export.lua
#
# Everything goes to OUT_DIR (default: a new temp dir): the session, the exported WAVs, and per
# step <step>.stdout / <step>.stderr. Ardour's config and plugin cache are redirected there too
# (XDG_CONFIG_HOME / XDG_CACHE_HOME), so nothing in ~/.config/ardour7 is read or written.
#
# Why not plain `ardour7-lua`: the wrapper script overrides ARDOUR_DATA_PATH, and Ardour only finds
# Lua DSP scripts and export presets on that path (scripts in $XDG_CONFIG_HOME/ardour7/scripts are
# listed but new_luaproc() cannot instantiate them). So this runs /usr/lib/ardour7/luasession with
# the wrapper's environment plus our data folder. Also, luasession does not scan for plugins:
# without a VST3 cache entry new_plugin() finds nothing (and adding the nil processor segfaults),
# so the bundle is scanned first with ardour-vst3-scanner.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-$(mktemp -d /tmp/continuo-ardour.XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VST3_DIR="${CONTINUO_VST3_DIR:-$REPO/target/test-bundles}"
BUNDLE="$VST3_DIR/continuo.vst3"
[ -d "$BUNDLE" ] || { echo "no bundle at $BUNDLE" >&2; exit 2; }

if [ -z "${PYTHON:-}" ]; then
  for p in "$REPO/models/notes2/build/venv/bin/python" python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' 2>/dev/null; then PYTHON="$p"; break; fi
  done
fi

# Ardour's environment (as /usr/bin/ardour7-lua sets it) plus our data folder first on the path.
DATA="$OUT/ardour-data"
mkdir -p "$DATA"
ln -sfn "$HERE/scripts" "$DATA/scripts"   # continuo_probe.lua
ln -sfn "$HERE/export" "$DATA/export"     # continuo-float.preset
export XDG_CONFIG_HOME="$OUT/xdg-config" XDG_CACHE_HOME="$OUT/xdg-cache"
export LD_LIBRARY_PATH="/usr/lib/ardour7${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ARDOUR_DATA_PATH="$DATA:/usr/share/ardour7"
export ARDOUR_CONFIG_PATH=/etc/ardour7 ARDOUR_DLL_PATH=/usr/lib/ardour7 VAMP_PATH=/usr/lib/ardour7/vamp
export VST3_PATH="$VST3_DIR"
export CONTINUO_ARDOUR_DIR="$HERE"   # common.lua for the session scripts
export CONTINUO_SESSION_DIR="$OUT/session" CONTINUO_EXPORT_DIR="$OUT/export"
rm -rf "$CONTINUO_SESSION_DIR"
mkdir -p "$CONTINUO_EXPORT_DIR"

# The plugin's nice_plug wrapper logs a debug-assertion warning for every automation point Ardour
# sends at the end of a block (thousands per run); keep them out of the summaries.
NOISE='Debug assertion failed: timing <= last_valid_index'

step() { # step NAME TIMEOUT CMD... : run, keep stdout/stderr, report time and exit status
  local name="$1" limit="$2"; shift 2
  local t0=$SECONDS rc=0
  timeout "$limit" "$@" </dev/null >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" || rc=$?
  echo "## $name: exit $rc after $((SECONDS - t0)) s ($(grep -c "$NOISE" "$OUT/$name.stderr" || true) automation-timing warnings)"
  grep -v -e "$NOISE" -e '^$' -e 'MIDI buffer of size' -e 'Ignored format.*MP3' "$OUT/$name.stderr" \
    | grep -E 'continuo|=== STAGE|rror|free\(\)|egmentation' || true
  grep -E '^\[(A|R|G|probe)\]' "$OUT/$name.stdout" || true
  return 0
}

echo "# out: $OUT"
echo "# bundle: $BUNDLE"

# 1. Scan the bundle into the (redirected) VST3 cache.
step scan 60 /usr/lib/ardour7/ardour-vst3-scanner -f "$BUNDLE"

# 2. live1 / export / live2 / save in one Ardour process.
step live_export 300 /usr/lib/ardour7/luasession "$HERE/live_export.lua"

# 3. The exported WAV.
if [ -n "${PYTHON:-}" ]; then
  for w in "$CONTINUO_EXPORT_DIR"/*.wav; do [ -e "$w" ] && "$PYTHON" "$HERE/wavinfo.py" "$w"; done
fi

# 4. Reload in a fresh process, save as snapshot "reloaded", compare Continuo's chunk.
step reload 120 /usr/lib/ardour7/luasession "$HERE/reload.lua"
python3 "$HERE/chunks.py" "$CONTINUO_SESSION_DIR/continuo.ardour" "$CONTINUO_SESSION_DIR/reloaded.ardour" || true

# 5. Ardour's command-line exporter on the saved session. It exports the session range, and a
#    session with no regions has none, so write a snapshot "cli" with one (0 .. export seconds).
SECS="${CONTINUO_EXPORT_SECONDS:-${CONTINUO_SECONDS:-6}}"
python3 - "$CONTINUO_SESSION_DIR" "$SECS" <<'EOF'
import re, sys
d, secs = sys.argv[1], float(sys.argv[2])
x = open(f"{d}/continuo.ardour").read()
sc = int(re.search(r'superclocks-per-second="(\d+)"', x).group(1)) if 'superclocks-per-second' in x else 282240000
loc = (f'<Location id="987654321" name="session" start="a0" end="a{int(secs * sc)}" '
       f'flags="IsSessionRange" locked="0" timestamp="0" cue="0"/>')
x2 = re.sub(r'<Locations/>', f'<Locations>{loc}</Locations>', x, count=1)
if x2 == x:
    x2 = x.replace('<Locations>', f'<Locations>{loc}', 1)
open(f"{d}/cli.ardour", "w").write(x2)
EOF
step cli_export 300 /usr/lib/ardour7/utils/ardour7-export -b float -o "$CONTINUO_EXPORT_DIR/cli_export.wav" \
  "$CONTINUO_SESSION_DIR" cli
if [ -n "${PYTHON:-}" ] && [ -e "$CONTINUO_EXPORT_DIR/cli_export.wav" ]; then
  "$PYTHON" "$HERE/wavinfo.py" "$CONTINUO_EXPORT_DIR/cli_export.wav"
fi
# 6. A project saved with Generate on and reopened must not start a take by itself.
rm -rf "$OUT/generate_on"
CONTINUO_SESSION_DIR="$OUT/generate_on" CONTINUO_MODE=save \
  step restore_save 120 /usr/lib/ardour7/luasession "$HERE/restore_generate.lua"
CONTINUO_SESSION_DIR="$OUT/generate_on" CONTINUO_MODE=reload \
  step restore_reload 120 /usr/lib/ardour7/luasession "$HERE/restore_generate.lua"
echo "# done: $OUT"
