"""runnel restore: a backup takes a database's place, never under a running server."""
import subprocess

import pytest

from conftest import Runnel, runnel_binary

pytestmark = pytest.mark.sqlite_only


def cli(*args):
    return subprocess.run([runnel_binary(), *map(str, args)], capture_output=True, text=True, timeout=60)


def seeded_backup(tmp_path):
    """A server's database with one completed run, and a backup of it; the server is stopped."""
    server = Runnel(tmp_path / "source", database=tmp_path / "source" / "runnel.sqlite")
    server.directory.mkdir()
    server.start()
    client = server.client()
    assistant = client.beta.assistants.create(model="m", name="restored")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "keep me"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    backup = tmp_path / "runnel.backup"
    assert cli("backup", "--database", server.database, "--to", backup).returncode == 0
    server.stop()
    return backup, thread.id, run.id


def test_a_restored_database_serves_what_was_backed_up(tmp_path):
    backup, thread_id, run_id = seeded_backup(tmp_path)
    target = tmp_path / "fresh" / "runnel.sqlite"
    restored = cli("restore", "--from", backup, "--database", target)
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout and "schema version" in restored.stdout
    server = Runnel(tmp_path / "fresh", database=target).start()
    try:
        client = server.client()
        assert client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "completed"
        assert client.beta.threads.messages.list(thread_id).data[-1].content[0].text.value == "keep me"
    finally:
        server.stop()


def test_a_live_database_is_never_replaced(tmp_path, start_runnel):
    backup, _, _ = seeded_backup(tmp_path)
    live = start_runnel()
    thread = live.client().beta.threads.create()
    refused = cli("restore", "--from", backup, "--database", live.database, "--force")
    assert refused.returncode == 2 and "running runnel server" in refused.stderr
    # The live server's data is untouched.
    assert live.client().beta.threads.retrieve(thread.id).id == thread.id


def test_an_existing_database_is_replaced_only_with_force_and_kept_aside(tmp_path):
    backup, thread_id, _ = seeded_backup(tmp_path)
    folder = tmp_path / "resting"
    folder.mkdir()
    old = Runnel(folder, database=folder / "runnel.sqlite").start()
    old_thread = old.client().beta.threads.create().id
    old.stop()
    refused = cli("restore", "--from", backup, "--database", old.database)
    assert refused.returncode == 2 and "--force" in refused.stderr
    replaced = cli("restore", "--from", backup, "--database", old.database, "--force")
    assert replaced.returncode == 0, replaced.stderr
    aside = folder / "runnel.sqlite.replaced"
    assert aside.exists() and not (folder / "runnel.sqlite-wal").exists()
    server = Runnel(folder, database=old.database).start()
    try:
        assert server.client().beta.threads.retrieve(thread_id).id == thread_id
    finally:
        server.stop()
    # The replaced database still has what it had.
    before = Runnel(tmp_path / "aside", database=aside)
    before.directory.mkdir()
    before.start()
    try:
        assert before.client().beta.threads.retrieve(old_thread).id == old_thread
    finally:
        before.stop()


def test_what_is_not_a_runnel_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    import sqlite3
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text)")
    for source, reason in ((junk, "cannot be restored"), (foreign, "not a Runnel database"), (tmp_path / "none", "no backup")):
        result = cli("restore", "--from", source, "--database", tmp_path / "target.sqlite")
        assert result.returncode == 2 and reason in result.stderr, result.stderr
    assert not (tmp_path / "target.sqlite").exists()
    pg = cli("restore", "--from", junk, "--database", "postgres://u:secret-pw@127.0.0.1:1/db")
    assert pg.returncode == 2 and "pg_restore" in pg.stderr and "secret-pw" not in pg.stderr
