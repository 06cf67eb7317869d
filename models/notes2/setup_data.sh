#!/bin/sh
# Install what the v2 notes data needs (Debian packages, a Python venv) and build the data set.
#   sh models/notes2/setup_data.sh [build_data.py arguments...]
# Debian packages are installed only if missing (needs root or sudo); the venv lives in
# models/notes2/build/venv (git-ignored). Output: models/notes2/build/data/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs="freedoom freedm simutrans-data planetblupi-music-midi openttd-openmsx mma"
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing:$missing"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $missing
else
    echo "Debian packages present: $pkgs"
fi
venv="$here/build/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# The data needs mido, music21 and numpy (torch only for train.py).
grep -E '^(mido|music21|numpy)==' "$here/requirements.txt" > "$here/build/requirements-data.txt"
"$venv/bin/pip" install -q -r "$here/build/requirements-data.txt"
OMP_NUM_THREADS=1 exec nice -n 10 "$venv/bin/python" "$here/build_data.py" "$@"
