"""Driver of bench/code-interpreter.sh."""
import json
import statistics
import subprocess
import sys

binary, python = sys.argv[1:3]
RSS = "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')))"


def code_run(level, *codes):
    finished = subprocess.run([binary, "code-run", "--level", level, "--python", python, *codes],
                              capture_output=True, text=True, timeout=600)
    if finished.returncode != 0:
        return None
    return [json.loads(line) for line in finished.stdout.splitlines()]


for level in ["a", "b"]:
    starts = []
    for _ in range(10):
        calls = code_run(level, "pass")
        if calls is None:
            break
        starts.append(calls[0]["elapsed_ms"])
    if not starts:
        print(f"level {level.upper()}: does not work here")
        continue
    calls = code_run(level, *(["x = 1"] * 201))
    warm = sorted(call["elapsed_ms"] for call in calls[1:])
    bare, imported = code_run(level, RSS, "import numpy, pandas, matplotlib.pyplot\n" + RSS)
    plot = code_run(level, "import matplotlib.pyplot as plt", "plt.plot([1, 2, 3]); None")
    print(f"level {level.upper()}: session start (first call, `pass`) p50 {statistics.median(starts):.0f} ms, max {max(starts):.0f} ms "
          f"over {len(starts)} sessions; warm call (`x = 1`) p50 {statistics.median(warm):.2f} ms, p99 {warm[int(len(warm) * 0.99) - 1]:.2f} ms; "
          f"session RSS {int(bare['logs']) // 1024} MiB bare, {int(imported['logs']) // 1024} MiB with numpy, pandas and matplotlib; "
          f"first plot {plot[1]['elapsed_ms']:.0f} ms")
