#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ (swiftc -sanitize=fuzzer,address) and runs each for
# SECONDS (default 60), seeded from the unit tests' tables. Prints the executions of every
# harness; exits non-zero when one finds a crash, whose input is kept in .build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build-fuzz
mkdir -p "$out/modules" "$out/artifacts" "$out/logs"
instrumented=(-sanitize=fuzzer,address -parse-as-library -O)
flags=("${instrumented[@]}" -use-ld=lld)

echo "building the harnesses"
# RunsDomain as a module of its own, instrumented, for the harnesses that import it.
swiftc "${instrumented[@]}" -module-name RunsDomain -emit-module \
    -emit-module-path "$out/modules/RunsDomain.swiftmodule" -emit-library -static -o "$out/libRunsDomain.a" \
    Sources/RunsDomain/*.swift
http=(HTTPRequestDecoder HTTPHeadParser ChunkedBodyDecoder HTTPHeaders HTTPParseError HTTPRequest HTTPBodyStream)
swiftc "${flags[@]}" -module-name HTTPRequestFuzz Fuzz/HTTPRequestFuzz.swift Fuzz/SplitFeeding.swift \
    $(printf 'Sources/HTTPServer/%s.swift ' "${http[@]}") -o "$out/fuzz-http-request"
swiftc "${flags[@]}" -module-name MultipartFuzz Fuzz/MultipartFuzz.swift Fuzz/SplitFeeding.swift \
    Sources/HTTPServer/MultipartParser.swift Sources/HTTPServer/HeaderParameters.swift -o "$out/fuzz-multipart"
swiftc "${flags[@]}" -module-name JSONFuzz -I "$out/modules" Fuzz/JSONFuzz.swift "$out/libRunsDomain.a" -o "$out/fuzz-json"
swiftc "${flags[@]}" -module-name UpstreamSSEFuzz Fuzz/UpstreamSSEFuzz.swift Fuzz/SplitFeeding.swift \
    Sources/ModelBackends/UpstreamSSEDecoder.swift \
    -o "$out/fuzz-upstream-sse"
swiftc "${flags[@]}" -module-name UpstreamChunksFuzz -I "$out/modules" Fuzz/UpstreamChunksFuzz.swift \
    Sources/ModelBackends/UpstreamSSEDecoder.swift Sources/ModelBackends/ChatCompletionChunks.swift \
    Sources/ModelBackends/ModelBackend.swift "$out/libRunsDomain.a" -o "$out/fuzz-upstream-chunks"

python3 Fuzz/seeds.py "$out/corpus"
failed=0
for harness in http-request multipart json upstream-sse upstream-chunks; do
    log="$out/logs/$harness.log"
    if "$out/fuzz-$harness" "$out/corpus/$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/artifacts/$harness-" -print_final_stats=1 >"$log" 2>&1; then
        outcome="no crash"
    else
        outcome="CRASH (see $log and $out/artifacts/)"
        failed=1
    fi
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    corpus=$(ls "$out/corpus/$harness" | wc -l)
    printf 'fuzz %-16s %12s executions in %ss (%s/s), corpus %s inputs: %s\n' "$harness" "${runs:-?}" "$seconds" "${speed:-?}" "$corpus" "$outcome"
done
exit "$failed"
