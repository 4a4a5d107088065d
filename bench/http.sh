#!/usr/bin/env bash
# Keep-alive throughput of GET /v1/threads/{id} against nginx serving a file of the same size.
# Server on core 0, wrk on core 1, 64 connections, 10 s each. Prints requests/s, p50/p99 latency
# and the runnel/nginx ratio. Usage: bench/http.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
scripts/system-packages.sh libsqlite3-dev wrk nginx-light curl

swift build -c release --product runnel >/dev/null
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
taskset -c 0 .build/release/runnel serve --port "$port" --database "$work/bench.sqlite" --log-level warning &
runnel_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
thread_id=$(curl -sf "http://127.0.0.1:$port/v1/threads" -H 'content-type: application/json' \
    -d '{"metadata":{"bench":"http"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
url="http://127.0.0.1:$port/v1/threads/$thread_id"
curl -sf "$url" > "$work/body.json"
size=$(stat -c %s "$work/body.json")
read -r runnel_rps runnel_p50 runnel_p99 <<< "$(run_wrk "$url")"
kill "$runnel_pid"; wait "$runnel_pid" 2>/dev/null || true; runnel_pid=""

nginx_port=$(free_port)
mkdir -p "$work/www" "$work/nginx"
cp "$work/body.json" "$work/www/thread.json"
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
read -r nginx_rps nginx_p50 nginx_p99 <<< "$(run_wrk "http://127.0.0.1:$nginx_port/thread.json")"

printf '%-8s %12s %10s %10s   (%s connections, %ss, %s-byte body)\n' server "requests/s" p50 p99 "$connections" "$duration" "$size"
printf '%-8s %12s %10s %10s\n' runnel "$runnel_rps" "$runnel_p50" "$runnel_p99"
printf '%-8s %12s %10s %10s\n' nginx "$nginx_rps" "$nginx_p50" "$nginx_p99"
python3 -c "print(f'ratio runnel/nginx: {float(\"$runnel_rps\") / float(\"$nginx_rps\"):.2f}')"
