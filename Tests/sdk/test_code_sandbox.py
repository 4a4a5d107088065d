"""The code interpreter's sandbox, at both levels, started by root and by an unprivileged user.

Each test runs Python through `runnel code-run`, the same sessions runs use, and checks what the
code can and cannot reach. Nothing here needs the server."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import runnel_binary

LEVELS = ["a", "b"]
USERS = ["root", "unprivileged"] if os.geteuid() == 0 else ["unprivileged"]
# An unprivileged user the tests take when they run as root (nobody's ids).
NOBODY = 65534
PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.no_server


@pytest.fixture(scope="module")
def binary():
    """The binary, copied where an unprivileged user may execute it."""
    folder = tempfile.mkdtemp(prefix="runnel-sandbox-test-")
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "runnel")
    shutil.copy(runnel_binary(), path)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def code_run(binary, level, user, *codes, seconds=None, env=None):
    command = [binary, "code-run", "--level", level, "--python", PYTHON]
    if seconds:
        command += ["--seconds", str(seconds)]
    command += list(codes)
    if user == "unprivileged" and os.geteuid() == 0:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + command
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/",
                              env={**os.environ, **(env or {})})
    assert finished.returncode == 0, finished.stderr
    return [json.loads(line) for line in finished.stdout.splitlines()]


cases = pytest.mark.parametrize("level,user", [(level, user) for level in LEVELS for user in USERS])


@cases
def test_no_network(binary, level, user):
    [result] = code_run(binary, level, user, """
import socket
try:
    socket.create_connection(("127.0.0.1", 9), timeout=3)
    print("connected")
except OSError as error:
    print("refused", type(error).__name__)
""")
    assert result["logs"].startswith("refused"), result


@cases
def test_environment_is_the_sandboxes_own(binary, level, user):
    [result] = code_run(binary, level, user, "import os; print(sorted(os.environ))",
                        env={"RUNNEL_TEST_SECRET": "hunter2", "OPENAI_API_KEY": "sk-secret"})
    names = set(eval(result["logs"]))
    assert "RUNNEL_TEST_SECRET" not in names and "OPENAI_API_KEY" not in names
    assert names <= {"HOME", "TMPDIR", "PATH", "LANG", "MPLBACKEND", "MPLCONFIGDIR", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                     "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PWD", "LC_CTYPE"}, names


@cases
def test_secrets_and_the_database_are_unreadable(binary, level, user, tmp_path):
    # A database file as the server's user would own it.
    folder = tempfile.mkdtemp(prefix="runnel-db-")
    database = os.path.join(folder, "runnel.sqlite")
    with open(database, "w") as handle:
        handle.write("secret rows")
    os.chmod(database, 0o600)
    if user == "unprivileged" and os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
        os.chown(database, NOBODY, NOBODY)
    os.chmod(folder, 0o755)
    try:
        results = code_run(binary, level, user, *[f"open({path!r}).read()" for path in ["/etc/shadow", database]])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for result in results:
        assert result["error"] and ("PermissionError" in result["error"] or "FileNotFoundError" in result["error"]), result


@cases
def test_only_the_session_folder_and_tmp_are_writable(binary, level, user):
    [result] = code_run(binary, level, user, """
import os, tempfile
written = []
for folder in ["/", "/usr", "/usr/lib", "/etc", "/var/tmp", "/dev/shm", "/root", "/home", os.path.dirname(os.getcwd())]:
    try:
        with open(os.path.join(folder, "runnel-escape"), "w") as handle:
            handle.write("x")
        written.append(folder)
    except OSError:
        pass
with open("inside.txt", "w") as handle:
    handle.write("ok")
with open(os.path.join(tempfile.gettempdir(), "scratch"), "w") as handle:
    handle.write("ok")
print(written)
""")
    assert result["logs"] == "[]\n", result
    assert result["outputs"] == ["inside.txt"]


@cases
def test_a_fork_bomb_is_contained(binary, level, user):
    [result, after] = code_run(binary, level, user, """
import os, time
children = []
try:
    for _ in range(5000):
        pid = os.fork()
        if pid == 0:
            time.sleep(1)
            os._exit(0)
        children.append(pid)
    print("unbounded", len(children))
except OSError as error:
    print("stopped", type(error).__name__)
for pid in children:
    os.waitpid(pid, 0)
""", "print('alive')")
    assert result["logs"].startswith("stopped BlockingIOError"), result
    assert after["logs"] == "alive\n"


@cases
def test_a_2_gib_allocation_gets_memory_error(binary, level, user):
    [result, after] = code_run(binary, level, user, "x = 7\nblock = bytearray(2 * 1024 ** 3)", "print(x)")
    assert result["error"] == "MemoryError", result
    assert after["logs"] == "7\n"


@cases
def test_an_endless_loop_is_interrupted_and_the_session_kept(binary, level, user):
    [looped, after] = code_run(binary, level, user, "x = 42\nwhile True:\n    pass", "print(x)", seconds=2)
    assert looped["interrupted"] and not looped["reset"] and "KeyboardInterrupt" in looped["logs"], looped
    assert after["logs"] == "42\n"


@cases
def test_a_process_outside_cannot_be_signalled(binary, level, user):
    # A process of the server's own user, outside the sandbox.
    preexec = None
    if user == "unprivileged" and os.geteuid() == 0:
        def preexec():
            os.setgid(NOBODY)
            os.setuid(NOBODY)
    outside = subprocess.Popen(["sleep", "60"], preexec_fn=preexec)
    try:
        [result] = code_run(binary, level, user, f"""
import os, signal
try:
    os.kill({outside.pid}, signal.SIGTERM)
    print("signalled")
except OSError as error:
    print("refused", type(error).__name__)
""")
        assert result["logs"].startswith("refused"), result
        assert outside.poll() is None
    finally:
        outside.kill()
        outside.wait()


@pytest.mark.parametrize("level", LEVELS)
def test_pandas_and_matplotlib_plot_and_write_files(binary, level):
    python = os.environ.get("RUNNEL_CODE_PYTHON")
    if not python:
        pytest.skip("RUNNEL_CODE_PYTHON is unset (scripts/test.sh builds it with scripts/code-python.sh)")
    finished = subprocess.run([binary, "code-run", "--level", level, "--python", python, """
import os
import numpy as np, pandas as pd, matplotlib.pyplot as plt
frame = pd.DataFrame({"x": np.arange(5), "y": np.arange(5) ** 2})
frame.to_csv("squares.csv", index=False)
plt.plot(frame.x, frame.y)
int(frame.y.sum())
""", "int(frame.y.max())"], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    first, second = [json.loads(line) for line in finished.stdout.splitlines()]
    assert first["error"] is None and first["logs"] == "30\n", first
    assert first["outputs"] == ["squares.csv"] and len(first["figures"]) == 1
    assert second["logs"] == "16\n" and second["outputs"] == [] and second["figures"] == []


@pytest.mark.parametrize("level", LEVELS)
def test_logs_are_cut_at_the_limit(binary, level):
    [result, after] = code_run(binary, level, "root" if os.geteuid() == 0 else "unprivileged",
                               "for i in range(20000):\n    print('line', i)", "print('short')")
    assert result["truncated"] and len(result["logs"].encode()) == 20000, len(result["logs"])
    assert result["logs"].startswith("line 0\n")
    assert not after["truncated"] and after["logs"] == "short\n"


def _processes():
    """pid → (parent pid, session id), from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                table[int(entry)] = (int(fields[1]), int(fields[3]))
            except (OSError, IndexError, ValueError):
                pass
    return table


@pytest.mark.parametrize("level", LEVELS)
def test_a_session_dies_with_its_server(binary, level):
    server = subprocess.Popen([binary, "code-run", "--level", level, "--python", PYTHON, "--seconds", "600", "while True: pass"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    sessions = set()
    while time.monotonic() < deadline and not sessions:
        sessions = {session for pid, (parent, session) in _processes().items() if parent == server.pid}
        time.sleep(0.1)
    assert sessions, "the sandbox did not start"
    time.sleep(1)
    server.kill()
    server.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(session in sessions for _, session in _processes().values()):
        time.sleep(0.1)
    assert not [pid for pid, (_, session) in _processes().items() if session in sessions]
