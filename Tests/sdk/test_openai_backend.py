"""The `openai` backend in front of a fake OpenAI-compatible chat-completions server."""
import json
import time

import pytest


@pytest.fixture
def proxied(start_runnel, upstream):
    server = start_runnel("--backend", "openai", "--backend-url", upstream.url, "--backend-api-key", "sk-upstream-secret")
    client = server.client(api_key="sk-client-key")
    assistant = client.beta.assistants.create(model="upstream-model", instructions="Be helpful.", temperature=0.4, tools=[
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "code_interpreter"}])
    return server, client, assistant, upstream


def run_to_end(client, assistant, text, **kwargs):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return thread, client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, **kwargs)


def test_text_streams_through_and_request_is_well_formed(proxied):
    server, client, assistant, upstream = proxied
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello from upstream"}])
    with client.beta.threads.runs.create_and_stream(thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=300) as stream:
        pieces = list(stream.text_deltas)
        run = stream.get_final_run()
    assert pieces == ["hello ", "from ", "upstream"] and run.status == "completed"
    assert run.usage.prompt_tokens == 5 and run.usage.completion_tokens == 3
    request = upstream.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-upstream-secret"
    assert "sk-client-key" not in json.dumps(request)
    body = request["body"]
    assert body["model"] == "upstream-model" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True} and body["temperature"] == 0.4 and body["max_tokens"] == 300
    assert body["messages"][0] == {"role": "system", "content": "Be helpful."}
    assert body["messages"][-1] == {"role": "user", "content": "hello from upstream"}
    # code_interpreter is Runnel's own: offered as a function taking the code, which Runnel runs.
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "code_interpreter"]
    assert body["tools"][1]["function"]["parameters"]["required"] == ["code"]


def test_tool_calls_assembled_and_sent_back(proxied):
    server, client, assistant, upstream = proxied
    thread, run = run_to_end(client, assistant, '/call get_weather {"city": "Reykjavik"}')
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Reykjavik"}
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "cold"}])
    assert run.status == "completed"
    assert client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value == "cold"
    messages = upstream.requests[-1]["body"]["messages"]
    assert messages[-2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Reykjavik"}'}}]}
    assert messages[-1] == {"role": "tool", "tool_call_id": call.id, "content": "cold"}
    assert run.usage.completion_tokens == 3 + 1


def test_parallel_calls_keep_their_ids(proxied):
    server, client, assistant, upstream = proxied
    thread, run = run_to_end(client, assistant, '/call get_weather {"city": "Paris"}\n/call get_weather {"city": "Oslo"}')
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert len({c.id for c in calls}) == 2
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Oslo"]


@pytest.mark.parametrize("text, code", [("fail 500", "server_error"), ("fail 429", "rate_limit_exceeded")])
def test_upstream_errors_fail_the_run(proxied, text, code):
    server, client, assistant, upstream = proxied
    thread, run = run_to_end(client, assistant, text)
    assert run.status == "failed" and run.failed_at and run.last_error.code == code
    assert "upstream says" in run.last_error.message and upstream.url in run.last_error.message
    client.beta.threads.messages.create(thread.id, role="user", content="the thread is usable again")


def test_length_ends_incomplete(proxied):
    server, client, assistant, upstream = proxied
    thread, run = run_to_end(client, assistant, " ".join(["w"] * 300), max_completion_tokens=256)
    assert upstream.requests[-1]["body"]["max_tokens"] == 256
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"
    message = client.beta.threads.messages.list(thread.id, limit=1).data[0]
    assert message.status == "incomplete" and message.content[0].text.value == "w " * 256


def test_cancel_aborts_the_upstream_request(start_runnel, upstream):
    server = start_runnel("--backend", "openai", "--backend-url", upstream.delayed_url(200))
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["x"] * 40)}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    time.sleep(0.6)
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled"
    deadline = time.monotonic() + 5
    while not upstream.requests[-1].get("aborted") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert upstream.requests[-1].get("aborted"), "the upstream stream was not closed"


def test_unreachable_upstream_fails_with_a_helpful_message(start_runnel):
    server = start_runnel("--backend", "openai", "--backend-url", "http://127.0.0.1:9/v1")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.last_error.code == "server_error"
    assert "127.0.0.1:9" in run.last_error.message
