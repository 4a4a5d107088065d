#!/usr/bin/env bash
# Run-engine throughput: release build, echo backend without delay. wrk (on core 1) keeps
# `connections` keep-alive connections POSTing `/v1/threads/runs` with `stream: true`, each reading
# its stream to `data: [DONE]`, for `seconds`; the nodes run on core 0. Then `create_and_poll`
# through the official SDK, one at a time, for its latency.
# Usage: bench/runs.sh [--database PATH|URL] [--nodes N] [connections] [seconds] [create_and_poll samples]
#   --database  SQLite file (default: a temporary one) or a postgres:// URL (its database is used
#               as is; point it at an empty one)
#   --nodes     runnel processes sharing the database (PostgreSQL only; default 1); wrk's
#               connections are split between them
set -euo pipefail
cd "$(dirname "$0")/.."
database=""
nodes=1
while [ $# -gt 0 ]; do
    case "$1" in
    --database) database="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    *) break ;;
    esac
done
connections="${1:-32}"
seconds="${2:-10}"
polls="${3:-200}"
case "$database" in postgres://*|postgresql://*) ;; *)
    [ "$nodes" -eq 1 ] || { echo "several nodes need a postgres:// database" >&2; exit 2; } ;;
esac
scripts/system-packages.sh libsqlite3-dev libpq-dev curl wrk
swift build -c release --static-swift-stdlib --product runnel >/dev/null
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt

work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
database="${database:-$work/runs.sqlite}"
urls=()
for index in $(seq "$nodes"); do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    taskset -c 0 .build/release/runnel serve --port "$port" --database "$database" --log-level warning \
        --max-concurrent-runs 256 &
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
echo "database: $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$database"), nodes: $nodes, wrk connections: $connections, ${seconds}s"
assistant=$(curl -sf "${urls[0]}/v1/assistants" -H 'content-type: application/json' -d '{"model":"echo"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

taskset -c 1 bench/sample-process.sh "$work/peak" "${pids[@]}" &
sampler=$!
per_node=$(( (connections + nodes - 1) / nodes ))
wrks=()
for index in "${!urls[@]}"; do
    ASSISTANT="$assistant" taskset -c 1 wrk -t1 -c"$per_node" -d"${seconds}s" --latency \
        -s bench/lua/streamed-runs.lua "${urls[$index]}/v1/threads/runs" > "$work/wrk.$index" &
    wrks+=($!)
done
wait "${wrks[@]}"
kill "$sampler"; wait "$sampler" 2>/dev/null || true

total=0; completed=0; failed=0
for index in "${!urls[@]}"; do
    rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.$index")
    total=$(python3 -c "print($total + $rate)")
    read -r ok bad < <(awk '/streams completed/ {print $3, $5}' "$work/wrk.$index")
    completed=$((completed + ok)); failed=$((failed + bad))
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.$index")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.$index")
    echo "node $index: $rate runs/s, request to [DONE] p50 $p50 p99 $p99"
done
printf 'streamed runs/s: %.0f (%d completed, %d failed)\n' "$total" "$completed" "$failed"
cat "$work/peak"
.venv/bin/python bench/runs.py "${urls[0]}" "$assistant" "$polls"
