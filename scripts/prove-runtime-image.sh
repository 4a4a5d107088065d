#!/usr/bin/env bash
# Proves the Dockerfile's runtime stage without a Docker engine: builds the release binary with
# the build stage's own command, replays the runtime stage (its RUN lines, COPY, ENV, WORKDIR,
# USER) in a fresh Debian bookworm root filesystem made with debootstrap, checks with ldd that
# the binary needs no library the stage does not install, then runs it there as the stage's user
# against /data and drives it from outside with the official Python SDK through a run with a
# tool call, the HEALTHCHECK command and a SIGTERM stop.
# Needs root (debootstrap, chroot). The base filesystem is cached in $RUNNEL_ROOTFS_CACHE
# (default ~/.cache/runnel), outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

if [ "$(id -u)" -ne 0 ]; then
    if [ "${CI:-}" = "true" ]; then echo "prove-runtime-image: needs root" >&2; exit 1; fi
    echo "prove-runtime-image: SKIPPED (needs root for debootstrap and chroot)" >&2
    exit 0
fi

dockerfile() { python3 scripts/dockerfile.py "$@"; }
runtime_json="$(dockerfile runtime-json)"
# stage_field JSON EXPR: EXPR over a stage's JSON (as `d`); `field x EXPR` reads the runtime stage.
stage_field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }
field() { stage_field "$runtime_json" "$2"; }
[ "$(field x 'd["from"]')" = "debian:bookworm-slim" ] || { echo "runtime stage is not debian:bookworm-slim" >&2; exit 1; }

echo "== build stage: packages and the build command, as in the Dockerfile"
mapfile -t build_packages < <(dockerfile stage-packages build | sed '/^$/d')
scripts/system-packages.sh "${build_packages[@]}" debootstrap
build_command="$(dockerfile build-command)"
echo "$build_command"
bash -c "$build_command"
binary="$(swift build -c release --static-swift-stdlib --show-bin-path)/runnel"

echo "== base root filesystem (debootstrap bookworm, minbase, cached)"
cache="${RUNNEL_ROOTFS_CACHE:-$HOME/.cache/runnel}"
base="$cache/bookworm-minbase.tar"
mkdir -p "$cache"
if [ ! -s "$base" ]; then
    staging="$(mktemp -d)"
    debootstrap --variant=minbase bookworm "$staging" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
        || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    tar -C "$staging" -cf "$base.partial" .
    mv "$base.partial" "$base"
    rm -rf "$staging"
fi

root="$(mktemp -d /tmp/runnel-rootfs.XXXXXX)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
    for mount in "$root/proc" "$root/dev"; do mountpoint -q "$mount" && umount -l "$mount" || true; done
    rm -rf "$root" "$root.run.log" "$root.server.log" "$root.sdk.py" "$root.code.py"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
# The archive's "." carries the staging directory's 0700; the image's / is world-readable.
chmod 0755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

# Runs the RUN lines on stdin as root in the root filesystem; VAR=value arguments join their environment.
replay_runs() {
    local command
    while IFS= read -r command; do
        echo "RUN $command"
        chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            DEBIAN_FRONTEND=noninteractive "$@" /bin/sh -c "$command" >"$root.run.log" 2>&1 || { tail -30 "$root.run.log" >&2; exit 1; }
    done
}

echo "== runtime stage: RUN, COPY, as the Dockerfile says"
replay_runs < <(field x '"\n".join(d["run"])')
while read -r source destination; do
    [ "$source" = "/out/runnel" ] || { echo "unknown COPY source $source" >&2; exit 1; }
    install -D -m 0755 "$binary" "$root$destination"
done < <(field x '"\n".join(" ".join(c) for c in d["copy"])')

echo "== every library the binary needs is installed by the runtime stage"
ldd_output="$(chroot "$root" ldd /usr/local/bin/runnel)"
if grep -q "not found" <<<"$ldd_output"; then
    echo "$ldd_output" | grep "not found" >&2
    echo "the runtime stage lacks libraries the binary needs" >&2
    exit 1
fi
echo "$ldd_output" | awk '{print $1}' | tr '\n' ' '; echo
# libcurl is opened on demand (by the openai backend), so ldd does not list it.
# The cache is read whole before it is searched: `ldconfig -p | grep -q` fails under pipefail
# whenever grep stops reading before ldconfig has written everything (SIGPIPE).
library_cache="$(chroot "$root" /sbin/ldconfig -p)"
grep -q "libcurl.so.4 " <<<"$library_cache" || { echo "the runtime stage lacks libcurl.so.4, which --backend openai loads" >&2; exit 1; }
echo "libcurl.so.4 (loaded by --backend openai) is installed"

echo "== run it as the stage's user, with the stage's ENV, WORKDIR, ENTRYPOINT and CMD"
user="$(field x 'd["user"]')"
workdir="$(field x 'd["workdir"]')"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mapfile -t environment < <(field x '"\n".join(f"{k}={v}" for k, v in d["env"].items())')
# Same settings, but on a free loopback port: the image's 0.0.0.0:8080 is for a container's own network.
environment+=("RUNNEL_HOST=127.0.0.1" "RUNNEL_PORT=$port" "HOME=$workdir" "PATH=/usr/local/bin:/usr/bin:/bin")
mapfile -t entry < <(field x '"\n".join(d["entrypoint"] + d["cmd"])')
mapfile -t health < <(field x '"\n".join(d["healthcheck"])')
in_image() { chroot --userspec="$user:$user" "$root" /usr/bin/env -i "${environment[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"; }
# exec all the way down, so the process we signal is runnel itself (as `docker stop` would).
# The SDK's view of the image: a tool-call run, start to finish.
cat >"$root.sdk.py" <<'PY'
import json, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1], api_key="container-test", max_retries=0)
assistant = client.beta.assistants.create(model="echo", tools=[{"type": "function", "function": {"name": "get_weather"}}])
thread = client.beta.threads.create(messages=[{"role": "user", "content": '/call get_weather {"city": "Bergen"}'}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
assert run.status == "requires_action", run.status
call = run.required_action.submit_tool_outputs.tool_calls[0]
assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Bergen"}
run = client.beta.threads.runs.submit_tool_outputs_and_poll(
    thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "rain, 9C"}])
assert run.status == "completed", run.status
answer = client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value
assert answer == "rain, 9C", answer
print("SDK run with a tool call inside the runtime image: completed, answer", repr(answer))
# A PDF goes through the image's pdftotext into a vector store and is found by a search.
sys.path.insert(0, "Tests/sdk")
from retrieval_support import pdf_with_text
store = client.vector_stores.create(name="image check")
pdf = client.files.create(file=("check.pdf", pdf_with_text("Runnel reads PDF files in its image")), purpose="assistants")
indexed = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=pdf.id)
assert indexed.status == "completed", indexed.last_error
hits = client.vector_stores.search(vector_store_id=store.id, query="PDF image").data
assert hits and "Runnel reads PDF files" in hits[0].content[0].text, hits
print("PDF indexed with the image's pdftotext and found by search:", repr(hits[0].content[0].text))
PY

start_server() {
    # exec all the way down, so the process we signal is runnel itself (as `docker stop` would).
    ( in_image_exec() { exec chroot --userspec="$user:$user" "$root" /usr/bin/env -i "${environment[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"; }
      in_image_exec "${entry[@]}" ) >"$root.server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$root.server.log" 2>/dev/null && break; sleep 0.1; done
    cat "$root.server.log"
}
stop_server() {
    kill -TERM "$server_pid"
    status=0
    wait "$server_pid" || status=$?
    server_pid=""
    [ "$status" -eq 0 ] || { echo "SIGTERM stop exited $status" >&2; exit 1; }
}
start_server
in_image "${health[@]}"

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt
.venv/bin/python "$root.sdk.py" "http://127.0.0.1:$port/v1"
database="$(field x 'd["env"]["RUNNEL_DATABASE"]')"
[ -f "$root$database" ] || { echo "no database at $database in the image" >&2; exit 1; }
owner="$(chroot "$root" stat -c %U "$database")"
[ "$owner" = "$user" ] || { echo "database owned by $owner, not $user" >&2; exit 1; }

stop_server

if [ -n "${RUNNEL_TEST_POSTGRES_URL:-}" ]; then
    echo "== the same image on PostgreSQL, through the runtime stage's libpq5"
    pg_database="runnel_image_$$"
    psql -q "$RUNNEL_TEST_POSTGRES_URL" -c "CREATE DATABASE $pg_database"
    environment+=("RUNNEL_DATABASE=${RUNNEL_TEST_POSTGRES_URL%/*}/$pg_database")
    start_server
    grep -q "database=postgres://" "$root.server.log" || { echo "the image did not open PostgreSQL" >&2; exit 1; }
    .venv/bin/python "$root.sdk.py" "http://127.0.0.1:$port/v1"
    stop_server
    postgres_proof=", the same on PostgreSQL"
fi
echo "== the full stage (code interpreter) on top: its COPY, RUN and ENV, then a code_interpreter run"
full_json="$(dockerfile stage-json full)"
full() { stage_field "$full_json" "$1"; }
[ "$(full 'd["from"]')" = "runtime" ] || { echo "the full stage is not built on the runtime stage" >&2; exit 1; }
while read -r source destination; do
    install -D -m 0644 "$source" "$root$destination"
done < <(full '"\n".join(" ".join(c) for c in d.get("context_copy", []))')
# pip reaches PyPI through this machine's network, which may re-sign TLS with its own authority:
# the replay trusts what the host trusts, from outside the image's own files (as a build secret would).
pip_cert=()
if cp /etc/ssl/certs/ca-certificates.crt "$root/tmp/runnel-host-ca.crt" 2>/dev/null; then pip_cert=(PIP_CERT=/tmp/runnel-host-ca.crt); fi
replay_runs "${pip_cert[@]}" < <(full '"\n".join(d["run"])')
rm -f "$root/tmp/runnel-host-ca.crt"
mapfile -t full_environment < <(full '"\n".join(f"{k}={v}" for k, v in d["env"].items())')
environment+=("${full_environment[@]}")
cat >"$root.code.py" <<'PY'
import json, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1], api_key="container-test", max_retries=0)
assistant = client.beta.assistants.create(model="echo", tools=[{"type": "code_interpreter"}])
code = "import pandas as pd, matplotlib.pyplot as plt\nplt.plot([1, 2])\nprint(pd.Series([1, 2, 3]).sum())"
thread = client.beta.threads.create(messages=[{"role": "user", "content": "/call code_interpreter " + json.dumps({"code": code})}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
assert run.status == "completed", run.last_error
outputs = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data[0].step_details.tool_calls[0].code_interpreter.outputs
assert outputs[0].logs == "6\n" and outputs[1].type == "image", outputs
print("code_interpreter run inside the full image: pandas printed", repr(outputs[0].logs), "and matplotlib drew a figure")
PY
start_server
# The run waits for the sandbox probe, which logs the level it found once the server listens.
.venv/bin/python "$root.code.py" "http://127.0.0.1:$port/v1"
grep "code interpreter:" "$root.server.log"
grep -q "code interpreter: level" "$root.server.log" || { echo "the full image has no working code interpreter sandbox" >&2; exit 1; }
stop_server
echo "runtime image proof: passed (ldd clean, health ok, SDK tool-call run ok, SIGTERM exit 0${postgres_proof:-}; full stage: code_interpreter run ok)"
