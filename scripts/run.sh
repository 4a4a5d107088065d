#!/usr/bin/env bash
# Builds the release binary and starts the server on its defaults (127.0.0.1:8080,
# ./runnel.sqlite, no API keys). Extra arguments go to `runnel serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh libsqlite3-dev libcurl4-openssl-dev
swift build -c release --static-swift-stdlib --product runnel
exec .build/release/runnel serve "$@"
