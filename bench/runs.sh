#!/usr/bin/env bash
# Run-engine throughput: release build, echo backend without delay; N concurrent clients stream
# runs to `done`. Usage: bench/runs.sh [clients] [runs] [create_and_poll samples]
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-32}"
runs="${2:-5000}"
polls="${3:-200}"
scripts/system-packages.sh libsqlite3-dev curl
swift build -c release --product runnel >/dev/null
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt

work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/runnel serve --port "$port" --database "$work/runs.sqlite" --log-level warning \
    --max-concurrent-runs 256 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
.venv/bin/python bench/runs.py "http://127.0.0.1:$port" "$pid" "$clients" "$runs" "$polls"
