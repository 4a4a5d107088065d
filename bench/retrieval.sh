#!/usr/bin/env bash
# Retrieval: release build, full-text search only (no embedding model). Uploads generated English-
# like text (a Zipf-distributed vocabulary of 50,000 words, so queries are as selective as real
# ones), ingests it into one vector store, and reports ingestion MB/s, chunks, and search latency.
# Usage: bench/retrieval.sh [--database PATH|URL] [megabytes] [files] [searches] [chunk tokens] [overlap]
#   defaults: 100 MB in 20 files, 1,000 searches, auto chunking (800 tokens, 400 overlap)
set -euo pipefail
cd "$(dirname "$0")/.."
database=""
if [ "${1:-}" = "--database" ]; then database="$2"; shift 2; fi
megabytes="${1:-100}"
files="${2:-20}"
searches="${3:-1000}"
chunk="${4:-800}"
overlap="${5:-400}"
scripts/system-packages.sh libsqlite3-dev libpq-dev curl
swift build -c release --static-swift-stdlib --product runnel >/dev/null
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt

work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
database="${database:-$work/retrieval.sqlite}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.build/release/runnel serve --port "$port" --database "$database" --log-level warning &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
echo "database: $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$database")"
.venv/bin/python bench/retrieval.py "http://127.0.0.1:$port/v1" "$pid" "$database" "$megabytes" "$files" "$searches" "$chunk" "$overlap"
