#!/usr/bin/env bash
# Samples processes every 50 ms until killed, then writes their peak RSS (VmHWM) and the most
# threads any had to FILE. Shell builtins only (no process per sample), so sampling takes next
# to nothing from the cores being measured. Usage: bench/sample-process.sh FILE PID...
file="$1"; shift
threads=0
field() {  # pid name: sets value to the number after "name:" in /proc/pid/status
    local key number rest
    value=0
    while read -r key number rest; do
        if [ "$key" = "$2:" ]; then value=$number; return; fi
    done < "/proc/$1/status" 2>/dev/null
}
report() {
    local rss=0
    for pid in "$@"; do
        field "$pid" VmHWM
        [ "$value" -gt "$rss" ] && rss=$value
    done
    printf 'peak RSS %d.%d MiB, peak threads %d (largest process)\n' $((rss / 1024)) $((rss % 1024 * 10 / 1024)) "$threads" > "$file"
}
trap 'report "$@"; exit 0' TERM INT
# A pipe nobody writes to: `read -t` on it is a sleep without starting a process.
exec {idle}<> <(:)
while true; do
    for pid in "$@"; do
        field "$pid" Threads
        [ "$value" -gt "$threads" ] && threads=$value
    done
    read -r -t 0.05 -u "$idle" || true
done
