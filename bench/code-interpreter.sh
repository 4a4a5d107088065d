#!/usr/bin/env bash
# Code interpreter sessions: how long a session takes to start, what a warm call costs, and the
# memory a warm session holds, at each sandbox level that works here. Uses `runnel code-run`
# (the sessions runs use) and the Python of scripts/code-python.sh.
# Usage: bench/code-interpreter.sh [python]   (default: a venv built under ~/.cache/runnel)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh bubblewrap libseccomp-dev >/dev/null
swift build -c release --static-swift-stdlib --product runnel >/dev/null
python="${1:-$(scripts/code-python.sh "${RUNNEL_CODE_PYTHON_DIR:-$HOME/.cache/runnel/code-python}")}"
python3 bench/code_interpreter.py .build/release/runnel "$python"
