"""file_search in runs: Runnel searches the run's vector stores itself, records the step, and
turns the answer's markers into file_citation annotations."""
import json

import openai
import pytest

from retrieval_support import upload


@pytest.fixture(params=["echo", "openai"])
def backend(request):
    return request.param


INCLUDE = ["step_details.tool_calls[*].file_search.results[*].content"]


@pytest.fixture
def library(client):
    store = client.vector_stores.create(name="library")
    files = {}
    for name, text in {"fox.txt": "Foxes are clever animals that live in dens.",
                       "whale.txt": "Blue whales are the largest animals ever known."}.items():
        files[name] = upload(client, name, text.encode()).id
        client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=files[name])
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}],
                                              tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    return store, files, assistant


def search_message(query):
    return "/call file_search " + json.dumps({"query": query})


def test_a_run_searches_cites_and_records_the_step(client, library):
    store, files, assistant = library
    thread = client.beta.threads.create(messages=[{"role": "user", "content": search_message("clever animals")}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed" and run.required_action is None
    assert run.tools[0].type == "file_search"

    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "file_search" and call.id.startswith("call_")
    assert call.file_search.ranking_options.ranker == "auto" and call.file_search.ranking_options.score_threshold == 0
    results = call.file_search.results
    assert [r.file_name for r in results][0] == "fox.txt" and results[0].file_id == files["fox.txt"]
    assert all(0 <= r.score <= 1 for r in results) and all(r.content is None for r in results)
    assert steps[0].usage.total_tokens > 0 and steps[0].status == "completed"

    with_content = client.beta.threads.runs.steps.retrieve(thread_id=thread.id, run_id=run.id, step_id=steps[0].id, include=INCLUDE)
    assert "clever" in with_content.step_details.tool_calls[0].file_search.results[0].content[0].text
    listed = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, include=INCLUDE, order="asc").data
    assert listed[0].step_details.tool_calls[0].file_search.results[0].content[0].type == "text"

    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    text = message.content[0].text
    assert text.annotations, text.value
    for annotation in text.annotations:
        assert annotation.type == "file_citation"
        assert text.value[annotation.start_index:annotation.end_index] == annotation.text
        assert annotation.file_citation.file_id in files.values()
    assert text.annotations[0].file_citation.file_id == files["fox.txt"]
    # The answer gives each result on a line with its citation.
    assert len(text.value.splitlines()) == len(results) == len(text.annotations)


def test_search_steps_stream_as_openai_streamed_them(client, library):
    store, files, assistant = library
    thread = client.beta.threads.create(messages=[{"role": "user", "content": search_message("largest whales")}])
    events = []
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, include=INCLUDE) as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_messages()[0]
    names = [e.event for e in events]
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"
    delta = next(e for e in events if e.event == "thread.run.step.delta")
    assert delta.data.delta.step_details.tool_calls[0].type == "file_search"
    completed_step = next(e for e in events if e.event == "thread.run.step.completed")
    assert completed_step.data.step_details.tool_calls[0].file_search.results[0].content[0].text.startswith("Blue whales")
    assert names.index("thread.run.step.completed") < names.index("thread.message.created")
    assert final.content[0].text.annotations[0].file_citation.file_id == files["whale.txt"]


def test_tool_choice_forces_a_search_and_function_tools_mix(client, library):
    store, files, _ = library
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[
        {"type": "file_search", "file_search": {"max_num_results": 1, "ranking_options": {"ranker": "auto", "score_threshold": 0.1}}},
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}},
    ], tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "whales"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, tool_choice={"type": "file_search"})
    assert run.status == "completed"
    step = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc").data[0]
    results = step.step_details.tool_calls[0].file_search.results
    assert [r.file_name for r in results] == ["whale.txt"]
    assert step.step_details.tool_calls[0].file_search.ranking_options.score_threshold == 0.1

    mixed = client.beta.threads.create(messages=[{"role": "user", "content": search_message("foxes") + "\n/call lookup {}"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=mixed.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    pending = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in pending] == ["lookup"]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(thread_id=mixed.id, run_id=run.id,
                                                                tool_outputs=[{"tool_call_id": pending[0].id, "output": "looked up"}])
    assert run.status == "completed"
    calls = client.beta.threads.runs.steps.list(thread_id=mixed.id, run_id=run.id, order="asc").data[0].step_details.tool_calls
    assert [c.type for c in calls] == ["file_search", "function"]
    assert calls[0].file_search.results[0].file_name == "fox.txt" and calls[1].function.output == "looked up"
    answer = client.beta.threads.messages.list(thread_id=mixed.id, run_id=run.id).data[0].content[0].text
    assert "looked up" in answer.value and answer.annotations[0].file_citation.file_id == files["fox.txt"]

    with pytest.raises(openai.BadRequestError):
        plain = client.beta.assistants.create(model="gpt-4o")
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=plain.id, tool_choice={"type": "file_search"})


def test_the_vector_stores_helper_and_message_attachments(client):
    fox = upload(client, "fox.txt", b"Foxes are clever animals.")
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}], tool_resources={
        "file_search": {"vector_stores": [{"file_ids": [fox.id], "metadata": {"made": "helper"}}]}})
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids
    made = client.vector_stores.retrieve(store_id)
    assert made.metadata == {"made": "helper"} and made.file_counts.total == 1
    # A run waits for the store's files to be indexed before it searches.
    thread = client.beta.threads.create(messages=[{"role": "user", "content": search_message("clever")}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.content[0].text.annotations[0].file_citation.file_id == fox.id

    penguin = upload(client, "penguin.md", b"Penguins live in Antarctica.")
    plain = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": search_message("Antarctica"),
                                                   "attachments": [{"file_id": penguin.id, "tools": [{"type": "file_search"}]}]}])
    (thread_store,) = thread.tool_resources.file_search.vector_store_ids
    assert client.vector_stores.retrieve(thread_store).expires_after.days == 7
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=plain.id)
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.content[0].text.annotations[0].file_citation.file_id == penguin.id
    # A later message's attachment joins the same thread store.
    walrus = upload(client, "walrus.txt", b"Walruses have tusks.")
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=search_message("tusks"),
                                        attachments=[{"file_id": walrus.id, "tools": [{"type": "file_search"}]}])
    assert client.vector_stores.retrieve(thread_store).file_counts.total == 2
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=plain.id)
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.content[0].text.annotations[0].file_citation.file_id == walrus.id

    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.create(model="gpt-4o", tool_resources={"file_search": {"vector_store_ids": ["vs_missing"]}})
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.create(messages=[{"role": "user", "content": "x", "attachments": [
            {"file_id": "file-missing", "tools": [{"type": "file_search"}]}]}])


def test_a_search_without_stores_or_results_still_answers(client):
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": search_message("anything")}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert message.content[0].text.value == "No results found." and message.content[0].text.annotations == []
