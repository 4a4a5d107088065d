#!/usr/bin/env bash
# Builds the Python that code interpreter sessions run: a venv of the system python3 (so the
# sandbox, which sees /usr, can run it) with numpy, pandas and matplotlib from pinned wheels, and
# matplotlib's font cache built once. Prints the interpreter's path.
# Usage: scripts/code-python.sh DESTINATION   (then: runnel serve --code-interpreter-python DESTINATION/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
destination="${1:?usage: scripts/code-python.sh DESTINATION}"
requirements="$PWD/config/code-interpreter-requirements.txt"
stamp="$destination/.requirements"
if [ ! -x "$destination/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || scripts/system-packages.sh python3-venv >&2
    rm -rf "$destination"
    /usr/bin/python3 -m venv "$destination" >&2
    "$destination/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: -r "$requirements" >&2
    # The font cache sessions copy instead of building it (seconds) on their first plot.
    MPLCONFIGDIR="$destination/matplotlib" MPLBACKEND=Agg "$destination/bin/python" -c 'import matplotlib.pyplot' >&2
    cp "$requirements" "$stamp"
fi
# Sessions run as other users: everything readable, nothing writable.
chmod -R a+rX,go-w "$destination"
echo "$destination/bin/python"
