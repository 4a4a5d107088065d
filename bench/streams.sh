#!/usr/bin/env bash
# Many concurrent streamed runs on one node (release build, echo backend with `delay` ms per
# token, so each stream lasts about words × delay): the node runs on core 0, the Python client
# (asyncio) on core 1. Also prints the node's idle RSS, 5 s after start.
# Usage: bench/streams.sh [streams] [opened per second] [words] [delay ms]
set -euo pipefail
cd "$(dirname "$0")/.."
streams="${1:-15000}"
rate="${2:-1500}"
words="${3:-20}"
delay="${4:-1000}"
scripts/system-packages.sh libsqlite3-dev curl
swift build -c release --static-swift-stdlib --product runnel >/dev/null
# Each stream is a descriptor on both sides, plus the server's own.
limit=$(( streams + 1024 ))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$limit" ]; then
    echo "the hard open-file limit $(ulimit -Hn) is below the $limit this needs" >&2
    exit 2
fi
ulimit -n "$limit"

work="$(mktemp -d)"
trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
${RUNNEL_WRAP:-} taskset -c 0 .build/release/runnel serve --port "$port" --database "$work/streams.sqlite" --log-level ${STREAMS_LOG_LEVEL:-warning} \
    --echo-delay-ms "$delay" --max-concurrent-runs "$streams" --max-connections "$((streams + 100))" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
sleep 5
echo "idle RSS (5 s after start): $(awk '/^VmRSS:/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status"), threads $(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
assistant=$(curl -sf "http://127.0.0.1:$port/v1/assistants" -H 'content-type: application/json' -d '{"model":"echo"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
taskset -c 1 python3 bench/streams.py 127.0.0.1 "$port" "$pid" "$assistant" "$streams" "$rate" "$words" ${AFTER_SECONDS:-30}
