"""A model server Runnel does not control sends what no server should: each ends the run it
answers `failed` with a message naming the fault, and Runnel keeps serving."""
import pytest


FAULTS = {
    "usage": "usage.prompt_tokens of 1e+20",
    "tool-index": "tool call index of 1e+20",
    "endless-line": "stream line longer than",
    "utf8": "not valid UTF-8",
}


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_a_hostile_upstream_fails_the_run_and_nothing_else(start_runnel, upstream, mode):
    server = start_runnel("--backend", "openai", "--backend-url", upstream.url)
    client = server.client()
    assistant = client.beta.assistants.create(model="m", tools=[{"type": "function", "function": {"name": "f"}}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"hostile {mode}"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed", run
    assert run.last_error.code == "server_error"
    assert FAULTS[mode] in run.last_error.message and "model server" in run.last_error.message, run.last_error.message
    # The same process goes on serving, runs included.
    assert server.process.poll() is None
    healthy = client.beta.threads.create(messages=[{"role": "user", "content": "still here"}])
    done = client.beta.threads.runs.create_and_poll(thread_id=healthy.id, assistant_id=assistant.id)
    assert done.status == "completed"
    assert client.beta.threads.messages.list(healthy.id, limit=1).data[0].content[0].text.value == "still here"
