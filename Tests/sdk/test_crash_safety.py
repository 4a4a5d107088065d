"""kill -9 at random moments while clients write: every write that was acknowledged is there with
the content that was acknowledged, no run stays unfinished past recovery, and the database passes
its integrity check. Twenty rounds on one database, SQLite or PostgreSQL."""
import os
import random
import signal
import sqlite3
import threading
import time

import httpx

from conftest import fresh_postgres_database, query_database, sdk_store

ROUNDS = 20
WRITERS = 3
UNFINISHED = ("queued", "in_progress", "cancelling")


class Ledger:
    """Writes the server acknowledged (2xx), by kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.threads = {}   # thread id -> metadata
        self.messages = {}  # message id -> (thread id, text)
        self.runs = {}      # run id -> thread id

    def count(self):
        return len(self.threads) + len(self.messages) + len(self.runs)

    def absorb(self, other):
        self.threads.update(other.threads)
        self.messages.update(other.messages)
        self.runs.update(other.runs)


def write_until_killed(base_url, assistant_id, ledger, writer, stop):
    counter = 0
    with httpx.Client(base_url=base_url, timeout=5) as http:
        while not stop.is_set():
            counter += 1
            tag = f"w{writer}-{counter}-{random.random()}"
            try:
                thread = http.post("/threads", json={"metadata": {"tag": tag}})
                if thread.status_code != 200:
                    continue
                thread_id = thread.json()["id"]
                with ledger.lock:
                    ledger.threads[thread_id] = {"tag": tag}
                text = f"message {tag} " + "z" * random.randint(0, 2000)
                message = http.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": text})
                if message.status_code == 200:
                    with ledger.lock:
                        ledger.messages[message.json()["id"]] = (thread_id, text)
                run = http.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant_id})
                if run.status_code == 200:
                    with ledger.lock:
                        ledger.runs[run.json()["id"]] = thread_id
            except httpx.HTTPError:
                return


def verify(base_url, ledger, settle_seconds=30):
    """Checks every acknowledged write; returns (checked, lost, unfinished runs)."""
    lost = []
    with httpx.Client(base_url=base_url, timeout=10) as http:
        for thread_id, metadata in ledger.threads.items():
            response = http.get(f"/threads/{thread_id}")
            if response.status_code != 200 or response.json()["metadata"] != metadata:
                lost.append(("thread", thread_id))
        for message_id, (thread_id, text) in ledger.messages.items():
            response = http.get(f"/threads/{thread_id}/messages/{message_id}")
            if response.status_code != 200 or response.json()["content"][0]["text"]["value"] != text:
                lost.append(("message", message_id))
        deadline = time.monotonic() + settle_seconds
        pending = dict(ledger.runs)
        while pending:
            for run_id, thread_id in list(pending.items()):
                response = http.get(f"/threads/{thread_id}/runs/{run_id}")
                if response.status_code != 200:
                    lost.append(("run", run_id))
                    del pending[run_id]
                elif response.json()["status"] not in UNFINISHED:
                    del pending[run_id]
            if pending and time.monotonic() > deadline:
                break
            time.sleep(0.1)
    return ledger.count(), lost, pending


def integrity(database):
    """SQLite's own check of the file; PostgreSQL keeps its consistency itself (its WAL)."""
    if sdk_store() == "postgresql":
        return "ok"
    with sqlite3.connect(database) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_kill_9_at_random_moments_loses_no_acknowledged_write(tmp_path, start_runnel, report):
    seed = int(os.environ.get("RUNNEL_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    database = fresh_postgres_database() if sdk_store() == "postgresql" else tmp_path / "crash.sqlite"
    everything = Ledger()
    previous = None
    assistant_id = None
    killed_unfinished = 0
    for round_number in range(ROUNDS + 1):
        # A short lease: on PostgreSQL the restarted process takes the killed one's runs over
        # once its leases run out (SQLite knows at start that their holder is gone).
        server = start_runnel("--echo-delay-ms", "5", "--lease", "1", database=database)
        if previous is not None:
            # After each restart: the last round's acknowledged writes, and recovery's work on its runs.
            checked, lost, unfinished = verify(server.base_url, previous)
            assert not lost, f"round {round_number} (seed {seed}) lost {lost[:10]}"
            assert not unfinished, f"round {round_number} (seed {seed}) left unfinished {list(unfinished)[:10]}"
            everything.absorb(previous)
        if round_number == ROUNDS:
            break
        if assistant_id is None:
            assistant_id = server.client().beta.assistants.create(model="m").id
        ledger = Ledger()
        stop = threading.Event()
        writers = [threading.Thread(target=write_until_killed, args=(server.base_url, assistant_id, ledger, n, stop))
                   for n in range(WRITERS)]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.2, 0.9))
        server.stop(signal.SIGKILL)
        stop.set()
        for writer in writers:
            writer.join()
        killed_unfinished += query_database(database, "SELECT count(*) FROM runs WHERE status IN ('queued', 'in_progress')")[0][0]
        assert integrity(database) == "ok", f"round {round_number} (seed {seed})"
        previous = ledger

    # Once more, everything from every round.
    checked, lost, unfinished = verify(server.base_url, everything)
    report(f"crash safety on {sdk_store()} (seed {seed}): {ROUNDS} rounds of kill -9, {checked} acknowledged writes checked "
          f"({len(everything.threads)} threads, {len(everything.messages)} messages, {len(everything.runs)} runs), lost: {len(lost)}; "
          f"{killed_unfinished} runs were cut off unfinished, {len(unfinished)} still unfinished after recovery")
    assert not lost, f"seed {seed}: {lost[:10]}"
    assert not unfinished, f"seed {seed}: {list(unfinished)[:10]}"
    server.stop(signal.SIGTERM)
    assert integrity(database) == "ok"
