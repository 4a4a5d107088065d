#!/usr/bin/env bash
# Samples processes every 50 ms until killed, then writes their peak RSS (VmHWM) and the most
# threads any had to FILE. Usage: bench/sample-process.sh FILE PID...
file="$1"; shift
threads=0
report() {
    rss=0
    for pid in "$@"; do
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${hwm:-0}" -gt "$rss" ] && rss=$hwm
    done
    awk -v rss="$rss" -v threads="$threads" 'BEGIN { printf "peak RSS %.1f MiB, peak threads %d (largest process)\n", rss / 1024, threads }' > "$file"
}
trap 'report "$@"; exit 0' TERM INT
while true; do
    for pid in "$@"; do
        count=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${count:-0}" -gt "$threads" ] && threads=$count
    done
    sleep 0.05
done
