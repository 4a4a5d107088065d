"""Server-Sent Events exactly as OpenAI emits them: sequences A, B and C of the contract."""
import json
import os
import time

import httpx
import pytest
from openai import AssistantEventHandler
from typing_extensions import override



@pytest.fixture(params=["echo", "openai"])
def backend(request):
    return request.param


def raw_events(url, body, method="POST"):
    """(event, data) pairs of a streamed response, read with a plain HTTP client."""
    events = []
    with httpx.stream(method, url, json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers.get("x-request-id", "").startswith("req_")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
                events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events


def test_sequence_a_text_answer(runnel, client):
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello how are you today"}])
    events = raw_events(f"{runnel.base_url}/threads/{thread.id}/runs", {"assistant_id": assistant.id, "stream": True})
    names = [name for name, _ in events]
    deltas = names.count("thread.message.delta")
    assert names == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
                     "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"] \
        + ["thread.message.delta"] * deltas + ["thread.message.completed", "thread.run.step.completed",
                                               "thread.run.completed", "done"]
    assert deltas >= 3
    data = dict((n, d) for n, d in events if n != "thread.message.delta")
    assert data["thread.run.created"]["status"] == "queued" and data["thread.run.created"]["started_at"] is None
    assert data["thread.run.in_progress"]["started_at"] is not None
    step = data["thread.run.step.created"]
    assert step["type"] == "message_creation" and step["status"] == "in_progress" and step["usage"] is None
    message_id = step["step_details"]["message_creation"]["message_id"]
    assert data["thread.message.created"]["id"] == message_id and data["thread.message.created"]["content"] == []
    delta_payloads = [d for n, d in events if n == "thread.message.delta"]
    assert delta_payloads[0]["delta"]["content"][0] == {"index": 0, "type": "text", "text": {"value": "Hello ", "annotations": []}}
    assert all("annotations" not in d["delta"]["content"][0]["text"] for d in delta_payloads[1:])
    assert all(d["id"] == message_id and d["object"] == "thread.message.delta" for d in delta_payloads)
    assert "".join(d["delta"]["content"][0]["text"]["value"] for d in delta_payloads) == "Hello how are you today"
    completed = data["thread.message.completed"]
    assert completed["content"] == [{"type": "text", "text": {"value": "Hello how are you today", "annotations": []}}]
    assert data["thread.run.step.completed"]["usage"]["total_tokens"] > 0
    run = data["thread.run.completed"]
    assert run["status"] == "completed" and run["expires_at"] is None and run["usage"]["completion_tokens"] == 5
    assert events[-1] == ("done", "[DONE]")


def test_sequence_b_and_c_function_calling(runnel, client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": '/call get_weather {"city": "San Francisco, CA", "unit": "fahrenheit"}'}])
    events = raw_events(f"{runnel.base_url}/threads/{thread.id}/runs", {"assistant_id": weather_assistant.id, "stream": True})
    names = [n for n, _ in events]
    assert names[:5] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
                         "thread.run.step.in_progress"]
    assert names[-2:] == ["thread.run.requires_action", "done"]
    assert set(names[5:-2]) == {"thread.run.step.delta"} and "thread.run.step.completed" not in names
    step = events[3][1]
    assert step["type"] == "tool_calls" and step["step_details"] == {"type": "tool_calls", "tool_calls": []}
    deltas = [d["delta"]["step_details"]["tool_calls"][0] for n, d in events if n == "thread.run.step.delta"]
    first = deltas[0]
    assert first["index"] == 0 and first["id"].startswith("call_") and first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": "", "output": None}
    assert all(set(d) == {"index", "type", "function"} and set(d["function"]) == {"arguments"} for d in deltas[1:])
    arguments = "".join(d["function"]["arguments"] for d in deltas)
    assert json.loads(arguments) == {"city": "San Francisco, CA", "unit": "fahrenheit"}
    run = events[-2][1]
    call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    assert call == {"id": first["id"], "type": "function", "function": {"name": "get_weather", "arguments": arguments}}

    events = raw_events(f"{runnel.base_url}/threads/{thread.id}/runs/{run['id']}/submit_tool_outputs",
                        {"tool_outputs": [{"tool_call_id": call["id"], "output": "70 degrees and sunny."}], "stream": True})
    names = [n for n, _ in events]
    assert names[:4] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created"]
    assert names[-4:] == ["thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"]
    completed_step = events[0][1]
    assert completed_step["step_details"]["tool_calls"][0]["function"]["output"] == "70 degrees and sunny."
    assert completed_step["usage"] is not None and events[1][1]["required_action"] is None
    assert events[-3][1]["status"] == "completed"


class Recorder(AssistantEventHandler):
    def __init__(self):
        super().__init__()
        self.calls = []

    @override
    def on_text_created(self, text):
        self.calls.append("text_created")

    @override
    def on_text_delta(self, delta, snapshot):
        self.calls.append(("text_delta", delta.value))

    @override
    def on_tool_call_created(self, tool_call):
        self.calls.append(("tool_call_created", tool_call.function.name))

    @override
    def on_tool_call_done(self, tool_call):
        self.calls.append(("tool_call_done", tool_call.function.arguments))

    @override
    def on_message_done(self, message):
        self.calls.append(("message_done", message.content[0].text.value))


def test_event_handler_streams_and_tool_outputs_stream(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": '/call get_weather {"city": "Lima"}\n/call get_time'}])
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=weather_assistant.id, event_handler=handler) as stream:
        stream.until_done()
    run = handler.get_final_run()
    assert run.status == "requires_action"
    assert ("tool_call_created", "get_weather") in handler.calls and ("tool_call_created", "get_time") in handler.calls
    steps = handler.get_final_run_steps()
    calls = steps[0].step_details.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Lima"} and calls[1].function.arguments == "{}"
    assert [c.id for c in calls] == [c.id for c in run.required_action.submit_tool_outputs.tool_calls]

    second = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
            thread_id=thread.id, run_id=run.id, event_handler=second,
            tool_outputs=[{"tool_call_id": calls[0].id, "output": "warm"}, {"tool_call_id": calls[1].id, "output": "9am"}]) as stream:
        stream.until_done()
    assert second.get_final_run().status == "completed"
    assert ("message_done", "warm\n9am") in second.calls
    assert "".join(v for kind, v in (c for c in second.calls if isinstance(c, tuple)) if kind == "text_delta") == "warm\n9am"


def test_create_and_stream_and_text_deltas(client):
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "stream me please"}])
    with client.beta.threads.runs.create_and_stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        pieces = list(stream.text_deltas)
        final_messages = stream.get_final_messages()
    assert "".join(pieces) == "stream me please" and len(pieces) == 3
    assert final_messages[0].content[0].text.value == "stream me please"


def test_raw_stream_true_and_create_and_run_stream(runnel, client):
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "raw mode"}])
    stream = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True)
    names = [event.event for event in stream]
    assert names[0] == "thread.run.created" and names[-1] == "thread.run.completed"

    with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "new thread streamed"}]}) as stream:
        events = [event.event for event in stream]
        run = stream.get_final_run()
    assert events[0] == "thread.created" and events[1] == "thread.run.created" and run.status == "completed"
    assert client.beta.threads.messages.list(run.thread_id, limit=1).data[0].content[0].text.value == "new thread streamed"


def test_disconnect_does_not_cancel_the_run(start_runnel):
    server = start_runnel("--echo-delay-ms", "50")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["word"] * 30)}])
    with httpx.stream("POST", f"{server.base_url}/threads/{thread.id}/runs", json={"assistant_id": assistant.id, "stream": True}) as response:
        for line in response.iter_lines():
            if "thread.message.delta" in line:
                break
    run = client.beta.threads.runs.list(thread.id).data[0]
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed"
    assert client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value == " ".join(["word"] * 30)


def test_cancel_during_a_stream_ends_it_cancelled(start_runnel):
    server = start_runnel("--echo-delay-ms", "100")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["word"] * 40)}])
    names = []
    with httpx.stream("POST", f"{server.base_url}/threads/{thread.id}/runs", json={"assistant_id": assistant.id, "stream": True}) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                names.append(line[7:])
                if names[-1] == "thread.message.delta" and names.count("thread.message.delta") == 2:
                    run_id = client.beta.threads.runs.list(thread.id).data[0].id
                    client.beta.threads.runs.cancel(run_id, thread_id=thread.id)
    assert names[-4:] == ["thread.message.incomplete", "thread.run.step.cancelled", "thread.run.cancelled", "done"]


def test_many_concurrent_streams(runnel, client):
    import concurrent.futures
    assistant = client.beta.assistants.create(model="m")

    def one(i):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": f"stream number {i}"}])
        with client.beta.threads.runs.create_and_stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            return "".join(stream.text_deltas)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(64)))
    assert answers == [f"stream number {i}" for i in range(64)]


def test_keep_alive_comments_during_silences(start_runnel):
    server = start_runnel("--echo-delay-ms", "1500", "--stream-keep-alive", "0.5")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "slow words"}])
    lines = []
    with httpx.stream("POST", f"{server.base_url}/threads/{thread.id}/runs", json={"assistant_id": assistant.id, "stream": True},
                      timeout=30) as response:
        lines = list(response.iter_lines())
    comments = [line for line in lines if line.startswith(":")]
    assert comments and all(line == ": keep-alive" for line in comments)
    assert lines[-2:] == ["event: done", "data: [DONE]"] or lines[-3:-1] == ["event: done", "data: [DONE]"]
    # The SDK ignores the comments and sees the whole answer.
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "still fine"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        assert "".join(stream.text_deltas) == "still fine"


def test_a_running_run_can_be_joined_over_its_events(start_runnel):
    """GET …/runs/{id}/events (Runnel's own, for the inspector): the run as it stands, then its
    events until it ends, then done; a finished run is one event and done."""
    server = start_runnel("--echo-delay-ms", "30")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    words = " ".join(f"word{i}" for i in range(40))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": words}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    deadline = time.monotonic() + 10
    while client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status != "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    url = f"{server.base_url}/threads/{thread.id}/runs/{run.id}/events"
    events = raw_events(url, None, method="GET")
    names = [name for name, _ in events]
    assert names[0] == "thread.run.in_progress" and events[0][1]["id"] == run.id
    assert names[-2:] == ["thread.run.completed", "done"]
    joined = "".join(data["delta"]["content"][0]["text"]["value"] for name, data in events if name == "thread.message.delta")
    # Joined midway: the deltas are the rest of the answer, which ends the stored text. Behind a
    # balancer the watch may reach a node that does not run the run: it sees status changes only.
    if not os.environ.get("RUNNEL_SDK_CLUSTER"):
        assert "thread.run.step.completed" in names
        assert joined.strip() and words.endswith(joined.rstrip())
    assert client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value.rstrip() == words
    finished = raw_events(url, None, method="GET")
    assert [name for name, _ in finished] == ["thread.run.completed", "done"]
    missing = httpx.get(f"{server.base_url}/threads/{thread.id}/runs/run_nope/events", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
