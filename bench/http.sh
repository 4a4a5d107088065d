#!/usr/bin/env bash
# Keep-alive throughput of two GETs against nginx serving the same bytes from files:
#   thread  GET /v1/threads/{id} (a database read)
#   run     GET /v1/threads/{tid}/runs/{rid} of a run executing (the echo model waits 60 s per
#           word), what every SDK poll asks: answered from the engine's committed state.
# Server on core 0, wrk on core 1, 64 connections, 10 s each. Prints requests/s, p50/p99 latency
# and the runnel/nginx ratios. Usage: bench/http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
scripts/system-packages.sh libsqlite3-dev wrk nginx-light curl

swift build -c release --static-swift-stdlib --product runnel >/dev/null
work="$(mktemp -d)"
cleanup() {
    [ -n "${runnel_pid:-}" ] && kill "$runnel_pid" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_wrk() {  # url -> "requests/s p50 p99"
    taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$1" > "$work/wrk.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt")
    [ -z "$errors" ] || echo "  wrk reported: $errors" >&2
    echo "$rps $p50 $p99"
}

port=$(free_port)
taskset -c 0 .build/release/runnel serve --port "$port" --database "$work/bench.sqlite" --log-level warning \
    --echo-delay-ms 60000 &
runnel_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
thread_id=$(curl -sf "http://127.0.0.1:$port/v1/threads" -H 'content-type: application/json' \
    -d '{"metadata":{"bench":"http"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
url="http://127.0.0.1:$port/v1/threads/$thread_id"
curl -sf "$url" > "$work/thread.json"
assistant_id=$(curl -sf "http://127.0.0.1:$port/v1/assistants" -H 'content-type: application/json' -d '{"model":"echo"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
run_url=$(curl -sf "http://127.0.0.1:$port/v1/threads/runs" -H 'content-type: application/json' \
    -d "{\"assistant_id\":\"$assistant_id\",\"thread\":{\"messages\":[{\"role\":\"user\",\"content\":\"a long answer\"}]}}" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("/v1/threads/" + r["thread_id"] + "/runs/" + r["id"])')
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port$run_url" > "$work/run.json"
    grep -q '"status":"in_progress"' "$work/run.json" && break
    sleep 0.05
done
read -r thread_rps thread_p50 thread_p99 <<< "$(run_wrk "$url")"
read -r run_rps run_p50 run_p99 <<< "$(run_wrk "http://127.0.0.1:$port$run_url")"
grep -q '"status":"in_progress"' "$work/run.json" || { echo "the run is not executing: $(cat "$work/run.json")" >&2; exit 1; }
kill "$runnel_pid"; wait "$runnel_pid" 2>/dev/null || true; runnel_pid=""

nginx_port=$(free_port)
mkdir -p "$work/www" "$work/nginx"
cp "$work/thread.json" "$work/run.json" "$work/www/"
chmod -R a+rX "$work"
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
worker_cpu_affinity 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location / { default_type application/json; }
    }
}
NGINX
taskset -c 0 nginx -c "$work/nginx.conf"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/thread.json" >/dev/null && break; sleep 0.1; done
read -r nginx_thread_rps nginx_thread_p50 nginx_thread_p99 <<< "$(run_wrk "http://127.0.0.1:$nginx_port/thread.json")"
read -r nginx_run_rps nginx_run_p50 nginx_run_p99 <<< "$(run_wrk "http://127.0.0.1:$nginx_port/run.json")"

printf '%-15s %12s %10s %10s   (%s connections, %ss each)\n' "" "requests/s" p50 p99 "$connections" "$duration"
row() { printf '%-15s %12s %10s %10s\n' "$@"; }
row "runnel thread" "$thread_rps" "$thread_p50" "$thread_p99"
row "nginx thread" "$nginx_thread_rps" "$nginx_thread_p50" "$nginx_thread_p99"
row "runnel run" "$run_rps" "$run_p50" "$run_p99"
row "nginx run" "$nginx_run_rps" "$nginx_run_p50" "$nginx_run_p99"
echo "bodies: thread $(stat -c %s "$work/thread.json") bytes, run $(stat -c %s "$work/run.json") bytes"
python3 - "$thread_rps" "$nginx_thread_rps" "$run_rps" "$nginx_run_rps" <<'PY'
import sys
thread, nginx_thread, run, nginx_run = map(float, sys.argv[1:])
print(f"ratio runnel/nginx: thread {thread / nginx_thread:.2f}, executing run {run / nginx_run:.2f}")
PY
