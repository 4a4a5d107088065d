"""kill -9 in the middle of runs, then a restart: nothing stays unfinished forever."""
import signal
import time


def test_restart_after_kill_9_settles_every_run(tmp_path, start_runnel):
    database = tmp_path / "runs.sqlite"
    server = start_runnel("--echo-delay-ms", "20", "--max-concurrent-runs", "1", database=database)
    client = server.client()
    assistant = client.beta.assistants.create(model="m", tools=[{"type": "function", "function": {"name": "f"}}])

    waiting = client.beta.threads.create(messages=[{"role": "user", "content": "/call f"}])
    waiting_run = client.beta.threads.runs.create_and_poll(thread_id=waiting.id, assistant_id=assistant.id)
    assert waiting_run.status == "requires_action"

    busy = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["slow"] * 50)}])
    busy_run = client.beta.threads.runs.create(thread_id=busy.id, assistant_id=assistant.id)
    queued = client.beta.threads.create(messages=[{"role": "user", "content": "queued behind"}])
    queued_run = client.beta.threads.runs.create(thread_id=queued.id, assistant_id=assistant.id)
    deadline = time.monotonic() + 5
    while client.beta.threads.messages.list(busy.id, limit=1).data[0].role != "assistant":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.beta.threads.runs.retrieve(queued_run.id, thread_id=queued.id).status == "queued"
    server.stop(signal.SIGKILL)

    restarted = start_runnel("--max-concurrent-runs", "1", database=database)
    client = restarted.client()
    # The run cut off mid-answer executes its turn again: the partial message is replaced by a
    # whole one, never shown as complete.
    resumed = client.beta.threads.runs.poll(busy_run.id, thread_id=busy.id)
    assert resumed.status == "completed", resumed
    answers = [m for m in client.beta.threads.messages.list(busy.id).data if m.role == "assistant"]
    assert len(answers) == 1 and answers[0].status == "completed"
    assert answers[0].content[0].text.value == " ".join(["slow"] * 50)
    steps = client.beta.threads.runs.steps.list(run_id=busy_run.id, thread_id=busy.id).data
    assert [s.status for s in steps] == ["completed"]
    client.beta.threads.messages.create(busy.id, role="user", content="usable again")

    assert client.beta.threads.runs.poll(queued_run.id, thread_id=queued.id).status == "completed"
    assert client.beta.threads.messages.list(queued.id, limit=1).data[0].content[0].text.value == "queued behind"

    still_waiting = client.beta.threads.runs.retrieve(waiting_run.id, thread_id=waiting.id)
    assert still_waiting.status == "requires_action"
    call = still_waiting.required_action.submit_tool_outputs.tool_calls[0]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=waiting.id, run_id=waiting_run.id, tool_outputs=[{"tool_call_id": call.id, "output": "after restart"}])
    assert done.status == "completed"


def test_cancelling_run_is_cancelled_after_restart(tmp_path, start_runnel):
    import sqlite3
    database = tmp_path / "cancel.sqlite"
    server = start_runnel(database=database)
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    server.stop(signal.SIGKILL)
    # A crash between the cancel request and its completion leaves the run cancelling.
    with sqlite3.connect(database) as db:
        db.execute("UPDATE runs SET status = 'cancelling', completed_at = NULL, expires_at = created_at + 600 WHERE id = ?", (run.id,))
    restarted = start_runnel(database=database)
    assert restarted.client().beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "cancelled"


def test_a_run_interrupted_more_than_run_retries_fails_cleanly(tmp_path, start_runnel):
    database = tmp_path / "retries.sqlite"
    server = start_runnel("--echo-delay-ms", "100", "--run-retries", "1", database=database)
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["slow"] * 100)}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    for _ in range(2):
        deadline = time.monotonic() + 10
        while not [m for m in client.beta.threads.messages.list(thread.id).data if m.role == "assistant"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        server.stop(signal.SIGKILL)
        server = start_runnel("--echo-delay-ms", "100", "--run-retries", "1", database=database)
        client = server.client()
    failed = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert failed.status == "failed" and failed.last_error.code == "server_error"
    assert "interrupted 2 times" in failed.last_error.message
    partial = [m for m in client.beta.threads.messages.list(thread.id).data if m.role == "assistant"]
    assert all(m.status == "incomplete" for m in partial)
