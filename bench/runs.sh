#!/usr/bin/env bash
# Run-engine throughput: release build, echo backend without delay; N concurrent clients stream
# runs to `done`, spread over the nodes.
# Usage: bench/runs.sh [--database PATH|URL] [--nodes N] [clients] [runs] [create_and_poll samples]
#   --database  SQLite file (default: a temporary one) or a postgres:// URL (its database is used
#               as is; point it at an empty one)
#   --nodes     runnel processes sharing the database (PostgreSQL only; default 1)
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
clients="${1:-32}"
runs="${2:-5000}"
polls="${3:-200}"
case "$database" in postgres://*|postgresql://*) ;; *)
    [ "$nodes" -eq 1 ] || { echo "several nodes need a postgres:// database" >&2; exit 2; } ;;
esac
scripts/system-packages.sh libsqlite3-dev libpq-dev curl
swift build -c release --product runnel >/dev/null
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt

work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
database="${database:-$work/runs.sqlite}"
urls=()
for index in $(seq "$nodes"); do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    .build/release/runnel serve --port "$port" --database "$database" --log-level warning \
        --max-concurrent-runs 256 --database-pool 16 &
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
echo "database: $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$database"), nodes: $nodes"
.venv/bin/python bench/runs.py "$(IFS=,; echo "${urls[*]}")" "$(IFS=,; echo "${pids[*]}")" "$clients" "$runs" "$polls"
