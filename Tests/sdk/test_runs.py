"""Every usage example of OpenAI's Runs documentation, unchanged, against the echo backend."""
import json
import time

import httpx
import openai
import pytest
from openai import AssistantEventHandler



@pytest.fixture(params=["echo", "openai"])
def backend(request):
    return request.param


def last_text(client, thread_id):
    return client.beta.threads.messages.list(thread_id, limit=1).data[0].content[0].text.value


def run_until_final(client, **create):
    """create_and_poll for a run that may end `incomplete`: openai releases before that status
    existed keep polling an incomplete run for ever, so this polls by hand."""
    run = client.beta.threads.runs.create(**create)
    deadline = time.monotonic() + 30
    while run.status not in ("completed", "failed", "cancelled", "expired", "incomplete", "requires_action"):
        assert time.monotonic() < deadline, run.status
        time.sleep(0.05)
        run = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    return run


def test_create_run_and_poll_by_hand(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello runs"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=weather_assistant.id)
    assert run.id.startswith("run_") and run.object == "thread.run" and run.status == "queued"
    assert run.expires_at == run.created_at + 600 and run.started_at is None and run.usage is None
    assert run.instructions == "You are a weather bot." and run.model == "gpt-4o"
    assert run.truncation_strategy.type == "auto" and run.tool_choice == "auto" and run.parallel_tool_calls is True
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed" and run.expires_at is None and run.completed_at and run.started_at
    assert run.usage.prompt_tokens == 7 and run.usage.completion_tokens == 2 and run.usage.total_tokens == 9
    message = client.beta.threads.messages.list(thread.id, limit=1).data[0]
    assert message.role == "assistant" and message.content[0].text.value == "Hello runs"
    assert message.run_id == run.id and message.assistant_id == weather_assistant.id and message.status == "completed"
    assert [m.id for m in client.beta.threads.messages.list(thread.id, run_id=run.id)] == [message.id]


def test_overrides_are_used(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=weather_assistant.id, model="gpt-4o-mini",
        instructions="Be brief.", additional_instructions="Answer in French.", temperature=0.3, top_p=0.5,
        metadata={"purpose": "test"}, tools=[], tool_choice="none",
        truncation_strategy={"type": "last_messages", "last_messages": 3}, response_format={"type": "json_object"},
        # In the body as every SDK sends it; openai 1.21 has no parameter for it yet.
        extra_body={"parallel_tool_calls": False})
    assert run.status == "completed"
    assert run.model == "gpt-4o-mini" and run.instructions == "Be brief.\n\nAnswer in French."
    assert run.temperature == 0.3 and run.top_p == 0.5 and run.metadata == {"purpose": "test"}
    assert run.tools == [] and run.tool_choice == "none" and run.parallel_tool_calls is False
    assert run.truncation_strategy.last_messages == 3 and run.response_format.type == "json_object"


def test_additional_messages_join_the_thread(client, weather_assistant):
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=weather_assistant.id,
        additional_messages=[{"role": "user", "content": "added with the run"}])
    assert run.status == "completed"
    texts = [m.content[0].text.value for m in client.beta.threads.messages.list(thread.id, order="asc")]
    assert texts == ["added with the run", "added with the run"]


def test_retrieve_update_and_list_runs(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    ids = []
    for _ in range(5):
        ids.append(client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id).id)
    run = client.beta.threads.runs.retrieve(ids[0], thread_id=thread.id)
    assert run.id == ids[0]
    updated = client.beta.threads.runs.update(ids[0], thread_id=thread.id, metadata={"user_id": "u1"})
    assert updated.metadata == {"user_id": "u1"} and updated.status == "completed"
    assert client.beta.threads.runs.retrieve(ids[0], thread_id=thread.id).metadata == {"user_id": "u1"}
    assert [r.id for r in client.beta.threads.runs.list(thread.id, limit=2, order="asc")] == ids
    assert [r.id for r in client.beta.threads.runs.list(thread.id, limit=2)] == ids[::-1]
    with pytest.raises(openai.NotFoundError) as error:
        client.beta.threads.runs.retrieve("run_missing", thread_id=thread.id)
    assert error.value.body["message"] == "No run found with id 'run_missing'."


def test_function_calling_weather_example(client, weather_assistant):
    """The complete weather example: parallel calls, outputs for each, then the answer."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content":
        '/call get_weather {"city": "Paris"}\n/call get_time'}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id)
    assert run.status == "requires_action"
    assert run.required_action.type == "submit_tool_outputs"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"} and calls[1].function.arguments == "{}"
    assert calls[0].id != calls[1].id and all(c.id.startswith("call_") for c in calls)
    assert run.expires_at is not None and run.usage is not None

    outputs = {"get_weather": "22C and sunny", "get_time": "noon"}
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": outputs[c.function.name]} for c in calls])
    assert run.status == "completed"
    assert last_text(client, thread.id) == "22C and sunny\nnoon"
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens

    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    tool_step = steps[0]
    assert tool_step.status == "completed" and tool_step.completed_at
    assert [c.function.output for c in tool_step.step_details.tool_calls] == ["22C and sunny", "noon"]
    retrieved = client.beta.threads.runs.steps.retrieve(step_id=steps[1].id, run_id=run.id, thread_id=thread.id)
    assert retrieved.step_details.message_creation.message_id == client.beta.threads.messages.list(thread.id, limit=1).data[0].id
    assert retrieved.usage.total_tokens > 0


def test_tool_choice_required_and_named(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "anything"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id, tool_choice="required")
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.name == "get_weather"
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=weather_assistant.id, tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.name == "get_time"


def test_submit_tool_outputs_errors(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "/call get_weather {}\n/call get_time {}"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id)
    a, b = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
    for outputs in ([{"tool_call_id": a, "output": "x"}], [{"tool_call_id": a, "output": "x"}, {"tool_call_id": "call_nope", "output": "y"}]):
        with pytest.raises(openai.BadRequestError) as error:
            client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=outputs)
        assert error.value.body["message"].startswith(f"Expected tool outputs for call_ids ['{a}', '{b}'], got [")
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": a, "output": "1"}, {"tool_call_id": b, "output": "2"}])
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.threads.runs.submit_tool_outputs(run_id=done.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": a, "output": "x"}])
    assert error.value.body["message"] == 'Runs in status "completed" do not accept tool outputs.'


def test_thread_lock_answers_400_not_409(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "/call get_time"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id)
    assert run.status == "requires_action"
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=weather_assistant.id)
    assert error.value.body["message"] == f"Thread {thread.id} already has an active run {run.id}."
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.threads.messages.create(thread.id, role="user", content="more")
    assert error.value.body["message"] == f"Can't add messages to {thread.id} while a run {run.id} is active."
    cancelled = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled"
    client.beta.threads.messages.create(thread.id, role="user", content="unlocked")
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert "cancelled" in error.value.body["message"]


def test_validation_before_streaming(runnel, client, weather_assistant):
    thread = client.beta.threads.create()
    for body, param in [
        ({"assistant_id": weather_assistant.id, "stream": True, "temperature": 5}, "temperature"),
        ({"assistant_id": weather_assistant.id, "stream": True, "max_completion_tokens": 100}, "max_completion_tokens"),
        ({"assistant_id": weather_assistant.id, "stream": True, "tools": [{"type": "code_interpreter"}] * 21}, "tools"),
        ({"assistant_id": weather_assistant.id, "stream": True, "truncation_strategy": {"type": "last_messages"}}, "truncation_strategy.last_messages"),
        ({"assistant_id": weather_assistant.id, "stream": True, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name"),
        ({"stream": True}, "assistant_id"),
        ({"assistant_id": weather_assistant.id, "bogus": 1}, "bogus"),
    ]:
        response = httpx.post(f"{runnel.base_url}/threads/{thread.id}/runs", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["param"] == param
    missing = httpx.post(f"{runnel.base_url}/threads/{thread.id}/runs", json={"assistant_id": "asst_nope", "stream": True})
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "No assistant found with id 'asst_nope'."
    bad_include = httpx.post(f"{runnel.base_url}/threads/{thread.id}/runs?include[]=nope", json={"assistant_id": weather_assistant.id})
    assert bad_include.status_code == 400


def test_poll_after_header_is_an_integer(runnel, start_runnel):
    server = start_runnel("--echo-delay-ms", "100")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "one two three four five"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    response = httpx.get(f"{server.base_url}/threads/{thread.id}/runs/{run.id}")
    assert int(response.headers["openai-poll-after-ms"]) > 0
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    final = httpx.get(f"{server.base_url}/threads/{thread.id}/runs/{run.id}")
    assert final.json()["status"] == "completed" and "openai-poll-after-ms" not in final.headers


def test_poll_helper_returns_when_the_run_finishes(start_runnel):
    """Held polls: create_and_poll returns right after the run ends, not a poll interval later."""
    server = start_runnel("--echo-delay-ms", "300")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "a b c"}])
    started = time.monotonic()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    elapsed = time.monotonic() - started
    assert run.status == "completed"
    assert 0.85 < elapsed < 1.6, elapsed


def test_create_and_run_and_its_poll(client, weather_assistant):
    run = client.beta.threads.create_and_run(
        assistant_id=weather_assistant.id,
        thread={"messages": [{"role": "user", "content": "Explain deep learning to a 5 year old."}], "metadata": {"k": "v"}})
    assert run.thread_id.startswith("thread_") and run.status == "queued"
    assert client.beta.threads.retrieve(run.thread_id).metadata == {"k": "v"}
    polled = client.beta.threads.create_and_run_poll(
        assistant_id=weather_assistant.id, thread={"messages": [{"role": "user", "content": "hello poll"}]})
    assert polled.status == "completed" and last_text(client, polled.thread_id) == "hello poll"


def test_cancel_in_progress(start_runnel):
    server = start_runnel("--echo-delay-ms", "200")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(f"w{i}" for i in range(50))}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    deadline = time.monotonic() + 5
    while client.beta.threads.messages.list(thread.id, limit=1).data[0].role != "assistant":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status in ("cancelling", "cancelled")
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled" and run.cancelled_at and run.expires_at is None
    message = client.beta.threads.messages.list(thread.id, limit=1).data[0]
    assert message.status == "incomplete" and message.incomplete_details.reason == "run_cancelled"
    step = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled" and step.cancelled_at
    client.beta.threads.messages.create(thread.id, role="user", content="the thread is free again")


# --max-concurrent-runs is per node: a cluster of three runs three times as many at once.
@pytest.mark.single_node
def test_cancel_queued_run(start_runnel):
    server = start_runnel("--echo-delay-ms", "100", "--max-concurrent-runs", "1")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    busy = client.beta.threads.create(messages=[{"role": "user", "content": "a b c d e f g h"}])
    first = client.beta.threads.runs.create(thread_id=busy.id, assistant_id=assistant.id)
    other = client.beta.threads.create(messages=[{"role": "user", "content": "waits"}])
    second = client.beta.threads.runs.create(thread_id=other.id, assistant_id=assistant.id)
    time.sleep(0.3)
    assert client.beta.threads.runs.retrieve(second.id, thread_id=other.id).status == "queued"
    cancelled = client.beta.threads.runs.cancel(second.id, thread_id=other.id)
    assert cancelled.status == "cancelled"
    assert client.beta.threads.runs.poll(first.id, thread_id=busy.id).status == "completed"
    time.sleep(0.2)
    assert client.beta.threads.runs.retrieve(second.id, thread_id=other.id).status == "cancelled"
    assert client.beta.threads.messages.list(other.id).data[0].role == "user"


# --max-concurrent-runs is per node: a cluster of three runs three times as many at once.
@pytest.mark.single_node
def test_concurrency_limit_queues_the_rest(start_runnel):
    server = start_runnel("--echo-delay-ms", "50", "--max-concurrent-runs", "2")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    runs = []
    for i in range(6):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "a b c d"}])
        runs.append(client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id))
    time.sleep(0.1)
    statuses = [client.beta.threads.runs.retrieve(r.id, thread_id=r.thread_id).status for r in runs]
    assert statuses.count("in_progress") <= 2 and "queued" in statuses
    assert all(client.beta.threads.runs.poll(r.id, thread_id=r.thread_id).status == "completed" for r in runs)


def test_completion_budget_ends_incomplete(client, weather_assistant):
    words = " ".join(f"w{i}" for i in range(300))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": words}])
    run = run_until_final(client, thread_id=thread.id, assistant_id=weather_assistant.id, max_completion_tokens=256)
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage.completion_tokens == 256
    message = client.beta.threads.messages.list(thread.id, limit=1).data[0]
    assert message.status == "incomplete" and message.incomplete_details.reason == "max_tokens"
    assert message.content[0].text.value == " ".join(f"w{i}" for i in range(256)) + " "


def test_prompt_budget_truncates_then_ends_incomplete(client):
    assistant = client.beta.assistants.create(model="m")
    old = " ".join(["old"] * 200)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": old}, {"role": "user", "content": old},
                                                  {"role": "user", "content": "short and new"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, max_prompt_tokens=256)
    assert run.status == "completed" and run.usage.prompt_tokens <= 256
    huge = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["big"] * 300)}])
    run = run_until_final(client, thread_id=huge.id, assistant_id=assistant.id, max_prompt_tokens=256)
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_prompt_tokens"


def test_last_messages_truncation(client):
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"} for i in range(5)])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   truncation_strategy={"type": "last_messages", "last_messages": 2})
    assert run.usage.prompt_tokens == 2


def test_expired_by_the_sweeper(start_runnel):
    server = start_runnel("--run-expiry", "2")
    client = server.client()
    assistant = client.beta.assistants.create(model="m", tools=[{"type": "function", "function": {"name": "f"}}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "/call f"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.expires_at == run.created_at + 2
    time.sleep(3.5)  # nobody reads the run meanwhile: the sweeper must expire it on its own
    status = server.sql("SELECT status FROM runs WHERE id = ?", (run.id,))[0][0]
    assert status == "expired"
    with pytest.raises(openai.BadRequestError) as error:
        client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=thread.id,
            tool_outputs=[{"tool_call_id": run.required_action.submit_tool_outputs.tool_calls[0].id, "output": "late"}])
    assert error.value.body["message"] == 'Runs in status "expired" do not accept tool outputs.'
    expired = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert expired.status == "expired" and expired.expires_at is None and expired.required_action is None
    assert client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0].status == "expired"


def test_deleting_a_thread_deletes_its_runs(client, weather_assistant):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=weather_assistant.id)
    client.beta.threads.delete(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)


def test_async_client_runs(runnel):
    import asyncio
    from openai import AsyncOpenAI

    async def main():
        client = AsyncOpenAI(base_url=runnel.base_url, api_key="k", max_retries=0)
        assistant = await client.beta.assistants.create(model="m")
        threads = [await client.beta.threads.create(messages=[{"role": "user", "content": f"async {i}"}]) for i in range(10)]
        runs = await asyncio.gather(*(client.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=assistant.id) for t in threads))
        assert [r.status for r in runs] == ["completed"] * 10
        async with client.beta.threads.runs.stream(thread_id=threads[0].id, assistant_id=assistant.id) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_run()
        assert final.status == "completed"
        await client.close()

    asyncio.run(main())
