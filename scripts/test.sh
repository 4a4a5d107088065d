#!/usr/bin/env bash
# Runs every test from a fresh clone: the Swift unit tests, the libFuzzer harnesses (60 s each),
# the proof of the Dockerfile's runtime stage, then the Python suite that drives the real runnel
# binary through the official openai SDK (installed into .venv/), schemathesis included.
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
trap '[ -z "${stage_name:-}" ] || echo "   ($stage_name took $((SECONDS - stage_started)) s; $SECONDS s in all)"' EXIT

scripts/system-packages.sh libsqlite3-dev libcurl4-openssl-dev
python3 -c 'import venv, ensurepip' 2>/dev/null || scripts/system-packages.sh python3-venv

stage "swift build"
swift build
stage "swift test"
swift test

stage "fuzzing: HTTP head and chunked decoder, JSON parser, upstream SSE decoder and chunks (60 s each)"
scripts/fuzz.sh 60

stage "Dockerfile runtime stage, replayed in a debootstrapped Debian bookworm (no Docker engine needed)"
scripts/prove-runtime-image.sh

stage "SDK suite (openai Python SDK against .build/debug/runnel)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt
RUNNEL_BINARY="$PWD/.build/debug/runnel" .venv/bin/python -m pytest -q -rs -p no:cacheprovider Tests/sdk
