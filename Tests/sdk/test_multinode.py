"""Several nodes on one PostgreSQL database: each run executes exactly once, a dead node's runs
move on, cancels and streams cross nodes, the thread lock holds, and a PostgreSQL restart is
survived. The test command provides the cluster (RUNNEL_TEST_POSTGRES_URL)."""
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openai import AssistantEventHandler

from conftest import ROOT, Runnel, fresh_postgres_database

pytestmark = pytest.mark.skipif(not os.environ.get("RUNNEL_TEST_POSTGRES_URL"),
                                reason="needs PostgreSQL (scripts/test.sh starts one and sets RUNNEL_TEST_POSTGRES_URL)")

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


@pytest.fixture
def start_nodes(tmp_path):
    started = []

    def start(count, *args, database=None):
        database = database or fresh_postgres_database()
        nodes = []
        for index in range(count):
            directory = tmp_path / f"node{len(started)}"
            directory.mkdir()
            node = Runnel(directory, args=list(args), database=database).start()
            started.append(node)
            nodes.append(node)
        return nodes

    yield start
    for node in started:
        node.stop(signal.SIGKILL)


def wait_all_terminal(http, run_ids, timeout):
    """Polls until every run is finished; the runs still unfinished at the deadline."""
    deadline = time.monotonic() + timeout
    pending = dict(run_ids)
    while pending and time.monotonic() < deadline:
        for run_id, thread_id in list(pending.items()):
            if http.get(f"/threads/{thread_id}/runs/{run_id}").json()["status"] in TERMINAL:
                del pending[run_id]
        time.sleep(0.1)
    return pending


def test_1000_queued_runs_on_two_nodes_execute_exactly_once(start_nodes, upstream, report):
    a, b = start_nodes(2, "--backend", "openai", "--backend-url", upstream.url, "--max-concurrent-runs", "8")
    assistant = a.client().beta.assistants.create(model="m").id
    started = time.monotonic()

    def create(index):
        node = (a, b)[index % 2]
        response = httpx.post(f"{node.base_url}/threads/runs", timeout=30, json={
            "assistant_id": assistant, "thread": {"messages": [{"role": "user", "content": f"run number {index}"}]}})
        assert response.status_code == 200, response.text
        return response.json()["id"], response.json()["thread_id"]

    with ThreadPoolExecutor(16) as pool:
        runs = dict(pool.map(create, range(1000)))
    with httpx.Client(base_url=a.base_url, timeout=30) as http:
        unfinished = wait_all_terminal(http, runs, timeout=180)
    elapsed = time.monotonic() - started
    assert not unfinished, f"{len(unfinished)} runs left unfinished"
    statuses = [row[0] for row in a.sql("SELECT status FROM runs")]
    assert statuses.count("completed") == 1000, {s: statuses.count(s) for s in set(statuses)}
    prompts = [r["body"]["messages"][-1]["content"] for r in upstream.requests]
    assert len(prompts) == 1000 and len(set(prompts)) == 1000, "a run was sent to the model twice or never"
    by_node = a.sql("SELECT count(*) FROM runs WHERE lease_owner IS NULL")
    report(f"two nodes, 1000 queued runs (8 slots each): all completed in {elapsed:.1f} s; "
           f"{len(upstream.requests)} model calls, {len(set(prompts))} distinct; leases left held: {1000 - by_node[0][0]}")


def test_kill_9_of_a_node_moves_its_runs_to_the_other_within_the_lease(start_nodes, report):
    a, b = start_nodes(2, "--echo-delay-ms", "100", "--lease", "2")
    client_b = b.client()
    assistant = client_b.beta.assistants.create(model="m").id
    text = " ".join(f"w{i}" for i in range(30))
    runs = {}
    for _ in range(6):
        run = client_b.beta.threads.create_and_run(assistant_id=assistant, thread={"messages": [{"role": "user", "content": text}]})
        runs[run.id] = run.thread_id
    with httpx.Client(base_url=a.base_url, timeout=30) as http:
        deadline = time.monotonic() + 10
        while any(http.get(f"/threads/{t}/runs/{r}").json()["status"] != "in_progress" for r, t in runs.items()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # each run has part of its answer stored
        b.stop(signal.SIGKILL)
        killed = time.monotonic()
        unfinished = wait_all_terminal(http, runs, timeout=2 + 5 + 3.1 + 5)
        settled = time.monotonic() - killed
    assert not unfinished
    client_a = a.client()
    for run_id, thread_id in runs.items():
        run = client_a.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "completed", run
        answers = [m for m in client_a.beta.threads.messages.list(thread_id).data if m.role == "assistant"]
        assert len(answers) == 1 and answers[0].status == "completed" and answers[0].content[0].text.value == text
        steps = client_a.beta.threads.runs.steps.list(run_id=run_id, thread_id=thread_id).data
        assert [s.status for s in steps] == ["completed"]
    # Each run needs 3 s of answer; the lease is 2 s.
    assert settled <= 2 + 5 + 3.1, settled
    report(f"kill -9 of a node executing 6 runs (lease 2 s, 3 s answers): all completed on the other node "
           f"{settled:.1f} s after the kill")


def test_cancel_on_one_node_stops_a_run_on_another_within_a_second(start_nodes, upstream, report):
    a, b = start_nodes(2, "--backend", "openai", "--backend-url", upstream.delayed_url(100))
    client_b = b.client()
    assistant = client_b.beta.assistants.create(model="m").id
    run = client_b.beta.threads.create_and_run(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": " ".join(["slow"] * 200)}]})
    client_a = a.client()
    deadline = time.monotonic() + 10
    while not [m for m in client_a.beta.threads.messages.list(run.thread_id).data if m.role == "assistant"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    asked = time.monotonic()
    assert client_a.beta.threads.runs.cancel(run.id, thread_id=run.thread_id).status == "cancelling"
    while client_a.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).status != "cancelled":
        assert time.monotonic() - asked < 1.0, "not cancelled within 1 s"
        time.sleep(0.01)
    cancelled = time.monotonic() - asked
    while not upstream.requests[-1].get("aborted"):
        assert time.monotonic() - asked < 2.0, "the upstream request was not closed"
        time.sleep(0.01)
    closed = time.monotonic() - asked
    report(f"cancel on node A of a run on node B: cancelled after {cancelled * 1000:.0f} ms, "
           f"upstream request seen closed after {closed * 1000:.0f} ms (the fake upstream notices at its next write, every 100 ms)")


def test_a_stream_on_one_node_follows_a_run_executing_on_another(start_nodes, report):
    a, b = start_nodes(2, "--echo-delay-ms", "1", "--max-concurrent-runs", "1")
    client_a = a.client()
    assistant = client_a.beta.assistants.create(model="m").id
    # Node A's only slot is taken, so the streamed run is claimed by node B.
    busy = client_a.beta.threads.create_and_run(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": " ".join(["busy"] * 3000)}]})
    # Long enough that whole-message events exceed NOTIFY's 8,000-byte payload.
    text = " ".join(f"word{i}" for i in range(2500))
    events = []

    class Handler(AssistantEventHandler):
        def on_event(self, event):
            events.append(event.event)

    thread = client_a.beta.threads.create(messages=[{"role": "user", "content": text}])
    with client_a.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant, event_handler=Handler()) as stream:
        stream.until_done()
        final = stream.get_final_messages()
    assert final[-1].content[0].text.value == text
    assert events[:2] == ["thread.run.created", "thread.run.queued"] and events[-1] == "thread.run.completed"
    assert events.count("thread.message.completed") == 1 and events.count("thread.run.step.completed") == 1
    deltas = events.count("thread.message.delta")
    assert deltas == 2500
    runs = client_a.beta.threads.runs.list(thread.id).data
    assert runs[0].status == "completed"
    owners = a.sql("SELECT status FROM runs WHERE id = ?", (busy.id,))
    report(f"a stream on node A of a run executed by node B: {len(events)} events in order, {deltas} deltas, "
           f"message.completed of {len(text)} characters (NOTIFY parts); the busy run on A: {owners[0][0]}")


def test_the_thread_lock_holds_across_nodes(start_nodes):
    a, b = start_nodes(2, "--echo-delay-ms", "50")
    assistant = a.client().beta.assistants.create(model="m").id
    for _ in range(20):
        thread = a.client().beta.threads.create(messages=[{"role": "user", "content": "one two three"}])
        barrier = threading.Barrier(2)

        def create(node):
            barrier.wait()
            return httpx.post(f"{node.base_url}/threads/{thread.id}/runs", json={"assistant_id": assistant}, timeout=30)

        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(create, (a, b)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 400], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 400).json()["error"]
        assert "already has an active run" in refused["message"]


def test_nodes_recover_when_postgresql_restarts_under_load(start_nodes, report):
    directory = os.environ.get("RUNNEL_TEST_POSTGRES_DIR")
    if not directory:
        pytest.skip("RUNNEL_TEST_POSTGRES_DIR is not set: the test cannot restart the server")
    a, b = start_nodes(2, "--echo-delay-ms", "5", "--lease", "3")
    assistant = a.client().beta.assistants.create(model="m").id
    acknowledged = {}
    outcomes = {"ok": 0, "503": 0, "other": []}
    stop = threading.Event()

    def load(node):
        with httpx.Client(base_url=node.base_url, timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post("/threads/runs", json={
                        "assistant_id": assistant, "thread": {"messages": [{"role": "user", "content": "a b c d"}]}})
                except httpx.HTTPError as error:
                    outcomes["other"].append(repr(error))
                    continue
                if response.status_code == 200:
                    outcomes["ok"] += 1
                    acknowledged[response.json()["id"]] = response.json()["thread_id"]
                elif response.status_code == 503:
                    outcomes["503"] += 1
                    assert "database" in response.json()["error"]["message"]
                    time.sleep(0.05)
                else:
                    outcomes["other"].append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=load, args=(node,)) for node in (a, b, a, b)]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "restart", directory], check=True)
    time.sleep(3)
    stop.set()
    for worker in workers:
        worker.join()
    assert a.process.poll() is None and b.process.poll() is None, "a node died"
    assert not outcomes["other"], outcomes["other"][:5]
    with httpx.Client(base_url=a.base_url, timeout=30) as http:
        unfinished = wait_all_terminal(http, acknowledged, timeout=60)
        assert not unfinished, f"{len(unfinished)} acknowledged runs unfinished"
        statuses = {}
        for run_id, thread_id in acknowledged.items():
            status = http.get(f"/threads/{thread_id}/runs/{run_id}").json()["status"]
            statuses[status] = statuses.get(status, 0) + 1
    after = a.client().beta.threads.create_and_run_poll(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": "after the restart"}]})
    assert after.status == "completed"
    report(f"PostgreSQL restarted under load: {outcomes['ok']} runs acknowledged (all found, finished: {statuses}), "
           f"{outcomes['503']} requests answered 503 during the outage, no other errors, both nodes alive")


def test_nodes_starting_together_migrate_once(tmp_path):
    database = fresh_postgres_database()
    nodes = []
    for index in range(3):
        directory = tmp_path / f"together{index}"
        directory.mkdir()
        nodes.append(Runnel(directory, database=database))
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda node: node.start(), nodes))
        versions = [row[0] for row in nodes[0].sql("SELECT version FROM schema_migrations ORDER BY version")]
        expected = sorted(int(p.name[:4]) for p in (ROOT / "Migrations" / "postgresql").glob("*.sql"))
        assert versions == expected
        for node in nodes:
            assert node.client().beta.assistants.create(model="m").id.startswith("asst_")
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)


def test_a_stream_misses_nothing_while_its_nodes_listener_keeps_dropping(start_nodes, report):
    a, b = start_nodes(2, "--echo-delay-ms", "30", "--max-concurrent-runs", "1")
    client_a = a.client(timeout=30)
    assistant = client_a.beta.assistants.create(model="m").id
    client_a.beta.threads.create_and_run(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": " ".join(["busy"] * 500)}]})
    thread = client_a.beta.threads.create(messages=[{"role": "user", "content": " ".join(["lost"] * 40)}])
    stop = threading.Event()

    import re
    node_a = re.search(r"node=(\S+)", a.log_text()).group(1)

    def cut_listeners():
        # Node A's LISTEN connection is dropped again and again for a second, while node B
        # executes the run: A misses most of B's notifications, from the first one on.
        deadline = time.monotonic() + 1.0
        while not stop.is_set() and time.monotonic() < deadline:
            a.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE query LIKE 'LISTEN%' AND application_name = ?", (f"runnel {node_a}",))
            time.sleep(0.05)

    cutter = threading.Thread(target=cut_listeners)
    cutter.start()
    # Read as raw SSE: with events missing, the SDK's accumulator would refuse the stream.
    events = []
    started = time.monotonic()
    try:
        with httpx.stream("POST", f"{a.base_url}/threads/{thread.id}/runs", timeout=30,
                          json={"assistant_id": assistant, "stream": True}) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: "):
                    events.append(line[len("event: "):])
    finally:
        stop.set()
        cutter.join()
    # The missed notifications were sent again: every event once, in order.
    expected = (["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
                 "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"]
                + ["thread.message.delta"] * 40
                + ["thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"])
    assert events == expected, events
    run = client_a.beta.threads.runs.list(thread.id).data[0]
    assert run.status == "completed"
    report(f"a stream on node A whose run ran on node B while A's listener was cut every 50 ms for 1 s: "
           f"all {len(events)} events once and in order, done after {time.monotonic() - started:.1f} s")


def test_a_poll_held_on_one_node_wakes_when_the_run_ends_on_another(start_nodes, report):
    a, b = start_nodes(2, "--echo-delay-ms", "20", "--max-concurrent-runs", "1", "--poll-hold", "10")
    client_a = a.client()
    assistant = client_a.beta.assistants.create(model="m").id
    client_a.beta.threads.create_and_run(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": " ".join(["busy"] * 500)}]})
    # Node A's only slot is busy: node B executes this one, while the SDK's poll helper waits on A.
    started = time.monotonic()
    run = client_a.beta.threads.create_and_run_poll(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": " ".join(["word"] * 20)}]})
    elapsed = time.monotonic() - started
    assert run.status == "completed"
    # The answer takes ~0.4 s; a poll that missed B's events would be held for the full 10 s.
    assert elapsed < 3, elapsed
    report(f"create_and_poll on node A of a run executed by node B (poll hold 10 s): returned completed after {elapsed:.2f} s")
