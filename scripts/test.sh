#!/usr/bin/env bash
# Runs every test from a fresh clone: the Swift unit tests, the libFuzzer harnesses (60 s each),
# the proof of the Dockerfile's runtime stage, then the Python suite that drives the real runnel
# binary through the official openai SDK (installed into .venv/), schemathesis, promtool and
# headless Chromium included: once on SQLite, once on PostgreSQL, the runs and streams suites
# once more through three nodes behind nginx, the SDK-driven suites once over HTTPS, and the runs
# and streams suites on older SDK releases. It starts a throwaway PostgreSQL cluster of its own
# and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage says how long the one before it took, so a slow stage shows in CI's log.
stage_started=$SECONDS
stage() {
    [ -z "${stage_name:-}" ] || echo "   ($stage_name took $((SECONDS - stage_started)) s)"
    stage_name="$1"
    stage_started=$SECONDS
    echo "== $1"
}
postgres_dir=""
finish() {
    [ -z "${stage_name:-}" ] || echo "   ($stage_name took $((SECONDS - stage_started)) s; $SECONDS s in all)"
    [ -z "$postgres_dir" ] || { scripts/postgres.sh stop "$postgres_dir"; rm -rf "$postgres_dir"; }
}
trap finish EXIT

scripts/system-packages.sh libsqlite3-dev libpq-dev libcurl4-openssl-dev libseccomp-dev libssl-dev openssl bubblewrap postgresql nginx \
    poppler-utils prometheus chromium chromium-driver
python3 -c 'import venv, ensurepip' 2>/dev/null || scripts/system-packages.sh python3-venv

stage "PostgreSQL for the tests (initdb in a temporary folder, a free port)"
postgres_dir="$(mktemp -d /tmp/runnel-postgres.XXXXXX)"
RUNNEL_TEST_POSTGRES_URL="$(scripts/postgres.sh start "$postgres_dir")"
export RUNNEL_TEST_POSTGRES_URL RUNNEL_TEST_POSTGRES_DIR="$postgres_dir"
echo "   $RUNNEL_TEST_POSTGRES_URL"

stage "swift build"
swift build
stage "swift test"
swift test

stage "fuzzing: HTTP head and chunked decoder, multipart parser, JSON parser, upstream SSE decoder and chunks (60 s each)"
scripts/fuzz.sh 60

stage "Dockerfile runtime stage, replayed in a debootstrapped Debian bookworm (no Docker engine needed)"
scripts/prove-runtime-image.sh

stage "SDK suite on SQLite (openai Python SDK against .build/debug/runnel), with the multi-node tests"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt
export RUNNEL_BINARY="$PWD/.build/debug/runnel"
# The code interpreter's Python, where sandboxed users can read it.
code_python_dir=/opt/runnel-code-python
[ "$(id -u)" -eq 0 ] || code_python_dir="$HOME/.cache/runnel/code-python"
RUNNEL_CODE_PYTHON="$(scripts/code-python.sh "$code_python_dir")"
export RUNNEL_CODE_PYTHON
pytest=(.venv/bin/python -m pytest -q -rs -p no:cacheprovider)
"${pytest[@]}" Tests/sdk

stage "SDK suite on PostgreSQL"
RUNNEL_SDK_STORE=postgresql "${pytest[@]}" -m "not sqlite_only and not no_server" --ignore Tests/sdk/test_multinode.py Tests/sdk

stage "runs, streams and retrieval SDK suites through nginx to three nodes on one PostgreSQL"
RUNNEL_SDK_STORE=postgresql RUNNEL_SDK_CLUSTER=3 "${pytest[@]}" -m "not single_node and not no_server" Tests/sdk/test_runs.py Tests/sdk/test_streams.py \
    Tests/sdk/test_files.py Tests/sdk/test_vector_stores.py Tests/sdk/test_file_search_runs.py

stage "SDK-driven suites over HTTPS (a self-signed certificate the suite makes)"
RUNNEL_SDK_TLS=1 "${pytest[@]}" -m "not no_server" Tests/sdk/test_runs.py Tests/sdk/test_streams.py Tests/sdk/test_assistants.py \
    Tests/sdk/test_threads_messages.py Tests/sdk/test_files.py Tests/sdk/test_vector_stores.py Tests/sdk/test_file_search_runs.py \
    Tests/sdk/test_async_client.py Tests/sdk/test_auth.py Tests/sdk/test_metrics.py Tests/sdk/test_code_interpreter_runs.py

stage "runs and streams SDK suites on older openai releases (1.21.0, 1.109.1, 2.54.0)"
scripts/sdk-matrix.sh
