#!/usr/bin/env bash
# Runs the runs and streams SDK suites against older releases of the official openai Python SDK,
# each in a venv of its own (.venv-openai-VERSION/): the first 1.x with the Assistants v2
# streaming helpers, the last 1.x and the last 2.x. (3.54.0, the pinned one, runs in .venv/ with
# the whole suite.) Old releases pass `proxies` to httpx, which httpx 0.28 removed: httpx stays
# at 0.27 here. The README's "SDK versions" lists the same versions.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=(1.21.0 1.109.1 2.54.0)
pytest_args=(-q -rs -p no:cacheprovider --timeout 120)

for version in "${versions[@]}"; do
    venv=".venv-openai-$version"
    if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "openai==$version" httpx==0.27.2 pytest==9.0.3 pytest-timeout==2.3.1
    echo "-- openai $version"
    "$venv/bin/python" -m pytest "${pytest_args[@]}" "$@" Tests/sdk/test_runs.py Tests/sdk/test_streams.py
done
