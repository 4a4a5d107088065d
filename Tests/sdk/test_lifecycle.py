"""Start-up, configuration precedence, graceful stop and durability across kill -9."""
import pytest
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from conftest import Runnel, runnel_binary


def test_acknowledged_writes_survive_kill_9(tmp_path, start_runnel):
    database = tmp_path / "data" / "deep" / "runnel.sqlite"
    server = start_runnel(database=database)
    client = server.client()
    threads = [client.beta.threads.create(metadata={"i": str(i)}) for i in range(50)]
    message = client.beta.threads.messages.create(threads[-1].id, role="user", content="durable")
    server.stop(signal.SIGKILL)
    assert server.process.returncode == -signal.SIGKILL

    restarted = start_runnel(database=database)
    client = restarted.client()
    assert [client.beta.threads.retrieve(t.id).metadata for t in threads] == [{"i": str(i)} for i in range(50)]
    assert client.beta.threads.messages.retrieve(message.id, thread_id=threads[-1].id).content[0].text.value == "durable"


def test_sigterm_and_sigint_stop_cleanly(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = Runnel(tmp_path, database=tmp_path / f"db-{sig}.sqlite").start()
        server.client().beta.threads.create()
        assert server.stop(sig) == 0
        assert "stopped" in server.log_text()
        # A clean close checkpoints and removes the write-ahead log.
        assert not Path(str(server.database) + "-wal").exists()


def test_in_flight_requests_finish_during_shutdown(runnel):
    """Requests already sent when SIGTERM arrives still get their answers."""
    client = runnel.client()
    results, errors = [], []

    def hammer():
        try:
            for _ in range(200):
                results.append(client.beta.threads.create().id)
        except Exception as error:  # the server stops accepting part-way; that is expected
            errors.append(error)

    worker = threading.Thread(target=hammer)
    worker.start()
    time.sleep(0.2)
    assert runnel.stop(signal.SIGTERM) == 0
    worker.join()
    assert results, "no request completed before shutdown"


def test_migrations_are_embedded_and_recorded(tmp_path):
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    database = tmp_path / "db.sqlite"
    process = subprocess.Popen([runnel_binary(), "serve", "--port", "0", "--database", str(database)],
                               cwd=elsewhere, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        assert "listening on" in line
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    import sqlite3
    versions = [row[0] for row in sqlite3.connect(database).execute("SELECT version FROM schema_migrations")]
    assert versions and versions == sorted(versions)
    migrations = sorted(p.name for p in (Path(__file__).parents[2] / "Migrations" / "sqlite").glob("*.sql"))
    assert len(versions) == len(migrations)


def test_configuration_precedence(tmp_path, start_runnel):
    config = tmp_path / "runnel.json"
    file_db = tmp_path / "from-file.sqlite"
    env_db = tmp_path / "from-env.sqlite"
    config.write_text(json.dumps({"database": str(file_db), "max_body_bytes": 100, "log_level": "info"}))

    # The flag the fixture passes (--database) beats the environment and the file.
    server = start_runnel(env={"RUNNEL_CONFIG": str(config), "RUNNEL_DATABASE": str(env_db)})
    assert str(server.database) in server.log_text()
    # max_body_bytes comes from the file: a 200-byte body is refused.
    response = httpx.post(f"{server.base_url}/threads", content=b"{" + b" " * 200 + b"}")
    assert response.status_code == 413
    # The environment beats the file.
    server_env = start_runnel(env={"RUNNEL_CONFIG": str(config), "RUNNEL_MAX_BODY_BYTES": "1000"})
    assert httpx.post(f"{server_env.base_url}/threads", content=b"{" + b" " * 200 + b"}").status_code == 200
    # And a flag beats the environment.
    server_flag = start_runnel("--max-body-bytes", "50", env={"RUNNEL_CONFIG": str(config), "RUNNEL_MAX_BODY_BYTES": "1000"})
    assert httpx.post(f"{server_flag.base_url}/threads", content=b"{" + b" " * 200 + b"}").status_code == 413


def test_database_setting_from_env_and_file(tmp_path):
    config = tmp_path / "runnel.json"
    file_db = tmp_path / "file" / "db.sqlite"
    env_db = tmp_path / "env" / "db.sqlite"
    config.write_text(json.dumps({"database": str(file_db), "port": 0}))
    for extra, expected in (({}, file_db), ({"RUNNEL_DATABASE": str(env_db)}, env_db)):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNEL_")}
        env.update({"RUNNEL_CONFIG": str(config), **extra})
        process = subprocess.Popen([runnel_binary(), "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        try:
            line = process.stderr.readline()
            assert f"database={expected}" in line, line
            assert expected.exists()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def test_help_lists_every_setting_with_defaults():
    output = subprocess.run([runnel_binary(), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    example = json.loads((Path(__file__).parents[2] / "config" / "runnel.example.json").read_text())
    for key, value in example.items():
        if key == "api_keys":
            assert "--api-key" in output and "RUNNEL_API_KEYS" in output
            continue
        flag = "--" + key.replace("_", "-")
        lines = output.splitlines()
        index = next((i for i, l in enumerate(lines) if l.strip().startswith(flag + " ")), None)
        assert index is not None, f"{flag} missing from --help"
        assert lines[index].rstrip().endswith(f"default: {value if value != '' else 'none'}"), lines[index]
        assert f"env RUNNEL_{key.upper()}, config \"{key}\"" in lines[index + 1], lines[index + 1]


def test_bad_settings_are_reported(tmp_path):
    for args in (["--port", "70000"], ["--log-level", "loud"], ["--no-such-flag"], ["--config", str(tmp_path / "missing.json")]):
        result = subprocess.run([runnel_binary(), "serve", *args], capture_output=True, text=True, timeout=10)
        assert result.returncode == 2, args
        assert "runnel: error:" in result.stderr


def test_env_example_matches_help_and_json_example():
    root = Path(__file__).parents[2]
    output = subprocess.run([runnel_binary(), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    example = json.loads((root / "config" / "runnel.example.json").read_text())
    env = {}
    for line in (root / "config" / "runnel.example.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    import re
    documented = {m.group(1) for m in re.finditer(r"^\s+env (RUNNEL_[A-Z_]+)", output, re.MULTILINE)}
    assert set(env) == documented - {"RUNNEL_CONFIG"}
    for key, value in example.items():
        if key != "api_keys":
            assert env[f"RUNNEL_{key.upper()}"] == str(value), key
    assert set(example) == {k[len("RUNNEL_"):].lower() for k in env}


@pytest.mark.sqlite_only
def test_backup_while_runs_are_written(tmp_path, start_runnel):
    server = start_runnel()
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    stop = threading.Event()
    written = []

    def write_runs():
        while not stop.is_set():
            thread = client.beta.threads.create(messages=[{"role": "user", "content": "backup me"}])
            run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
            written.append(run.id)

    writer = threading.Thread(target=write_runs)
    writer.start()
    try:
        time.sleep(0.5)
        copies = []
        for index in range(3):
            target = tmp_path / "backups" / f"copy-{index}.sqlite"
            result = subprocess.run([runnel_binary(), "backup", "--database", str(server.database), "--to", str(target)],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            assert "backed up" in result.stdout
            copies.append(target)
            time.sleep(0.2)
    finally:
        stop.set()
        writer.join()
    import sqlite3
    counts = []
    for copy in copies:
        db = sqlite3.connect(copy)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts.append(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        db.close()
    assert counts == sorted(counts) and counts[-1] > 0
    # A copy is a working database: a server starts on it and serves what it holds.
    restored = start_runnel(database=copies[-1])
    ids = [r[0] for r in sqlite3.connect(copies[-1]).execute("SELECT id FROM runs")]
    assert set(ids) <= set(written)
    thread_id = sqlite3.connect(copies[-1]).execute("SELECT thread_id FROM runs LIMIT 1").fetchone()[0]
    assert restored.client().beta.threads.runs.list(thread_id).data


def test_backup_errors_are_clear(tmp_path):
    result = subprocess.run([runnel_binary(), "backup", "--database", str(tmp_path / "none.sqlite"), "--to", str(tmp_path / "x.sqlite")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "runnel: error:" in result.stderr and "none.sqlite" in result.stderr
    result = subprocess.run([runnel_binary(), "backup", "--database", str(tmp_path / "none.sqlite")], capture_output=True, text=True)
    assert result.returncode == 2 and "--to" in result.stderr


def test_health_command(runnel):
    ok = subprocess.run([runnel_binary(), "health", "--port", str(runnel.port)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok"
    runnel.stop()
    down = subprocess.run([runnel_binary(), "health", "--port", str(runnel.port)], capture_output=True, text=True)
    assert down.returncode == 1


def test_backup_of_a_postgres_database_points_to_pg_dump():
    result = subprocess.run([runnel_binary(), "backup", "--database", "postgres://u:secret-pw@127.0.0.1:1/db", "--to", "x"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "pg_dump" in result.stderr and "secret-pw" not in result.stderr


def test_a_database_url_password_never_reaches_the_log(tmp_path):
    result = subprocess.run([runnel_binary(), "serve", "--port", "0", "--database", "postgres://u:secret-pw@127.0.0.1:1/db"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "cannot open database postgres://u:***@127.0.0.1:1/db" in result.stderr
    assert "secret-pw" not in result.stderr
