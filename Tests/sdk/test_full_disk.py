"""A full disk: writes are refused with 507 and nothing is stored, reads go on, the run being
executed ends failed instead of staying in_progress, and writes resume once space is freed."""
import os
import subprocess
import time

import openai
import pytest


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a size-limited filesystem needs root to mount (tmpfs); run the suite as root to cover the full-disk case")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "runnel-full-disk", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"could not mount a 16 MiB tmpfs for the full-disk case: {mounted.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory):
    """Writes zeros until the filesystem refuses; returns the file holding them."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.sqlite_only
def test_a_full_disk_refuses_writes_keeps_reads_and_fails_the_running_run(start_runnel, small_disk, report):
    server = start_runnel("--echo-delay-ms", "2", database=small_disk / "runnel.sqlite")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    # About 3 s of answer at 2 ms a token, too large (130 kB) to fit anywhere once the disk is full.
    long_answer = " ".join(f"word{i}-" + "x" * 80 for i in range(1500))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": long_answer}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    deadline = time.monotonic() + 10
    while client.beta.threads.messages.list(thread.id, limit=1).data[0].role != "assistant":
        assert time.monotonic() < deadline, "the run never started answering"
        time.sleep(0.05)

    filler = fill(small_disk)
    refused = None
    for attempt in range(300):
        try:
            client.beta.threads.create(messages=[{"role": "user", "content": "y" * 100_000}])
        except openai.APIStatusError as error:
            refused = error
            break
    assert refused is not None, "300 writes of 100 kB were all stored on a full 16 MiB disk"
    assert refused.status_code == 507
    assert refused.body["type"] == "server_error" and "disk is full" in refused.body["message"]
    assert set(refused.body) == {"message", "type", "param", "code"}

    # Reads keep working, and the run cannot finish while there is no room for its answer. Its
    # ending is retried for 5 s, then given up: the run is to end failed.
    assert client.beta.assistants.retrieve(assistant.id).id == assistant.id
    time.sleep(10)
    stuck = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert stuck.status in ("in_progress", "failed"), stuck.status

    os.remove(filler)
    ended = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=200)
    assert ended.status == "failed" and ended.last_error.code == "server_error"
    assert "disk is full" in ended.last_error.message
    assert client.beta.threads.messages.list(thread.id, limit=1).data[0].status == "incomplete"
    report(f"full disk: write {attempt + 1} refused with {refused.status_code}; the running run was {stuck.status} "
           f"while the disk was full and ended {ended.status} once space was freed")
    # Writes resume, runs included.
    fresh = client.beta.threads.create(messages=[{"role": "user", "content": "room again"}])
    assert client.beta.threads.runs.create_and_poll(thread_id=fresh.id, assistant_id=assistant.id).status == "completed"
