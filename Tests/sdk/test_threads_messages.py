"""Threads and messages through the official SDK."""
import httpx
import openai
import pytest


def test_thread_with_initial_messages_and_metadata(client):
    from retrieval_support import png_pixel
    image = client.files.create(file=("cat.png", png_pixel()), purpose="vision")
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "What is 2 + 2?", "metadata": {"n": "1"}},
            {"role": "assistant", "content": [{"type": "text", "text": "Four."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "And this picture?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
                {"type": "image_file", "image_file": {"file_id": image.id}},
            ]},
        ],
        metadata={"user": "abc"},
    )
    assert thread.id.startswith("thread_") and thread.object == "thread"
    assert thread.metadata == {"user": "abc"}
    messages = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in messages.data] == ["user", "assistant", "user"]
    first = messages.data[0]
    assert first.content[0].text.value == "What is 2 + 2?" and first.content[0].text.annotations == []
    assert first.metadata == {"n": "1"} and first.thread_id == thread.id
    assert first.run_id is None and first.assistant_id is None and first.status == "completed"
    assert messages.data[1].content[0].text.value == "Four."
    parts = messages.data[2].content
    assert [p.type for p in parts] == ["text", "image_url", "image_file"]
    assert parts[1].image_url.detail == "low" and parts[2].image_file.file_id == image.id


def test_empty_thread_create_sends_empty_object(client):
    thread = client.beta.threads.create()
    assert thread.metadata == {} and thread.tool_resources is not None
    assert client.beta.threads.retrieve(thread.id).id == thread.id


def test_modify_and_delete_thread_removes_its_messages(client):
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    message_id = client.beta.threads.messages.list(thread.id).data[0].id
    updated = client.beta.threads.update(thread.id, metadata={"a": "b"})
    assert updated.metadata == {"a": "b"}
    assert client.beta.threads.retrieve(thread.id).metadata == {"a": "b"}
    deleted = client.beta.threads.delete(thread.id)
    assert deleted.deleted and deleted.object == "thread.deleted"
    with pytest.raises(openai.NotFoundError) as error:
        client.beta.threads.retrieve(thread.id)
    assert error.value.body["message"] == f"No thread found with id '{thread.id}'."
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message_id, thread_id=thread.id)


def test_message_lifecycle(client):
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="Hello there", metadata={"k": "v"})
    assert message.id.startswith("msg_") and message.object == "thread.message"
    assert message.content[0].text.value == "Hello there"
    assert client.beta.threads.messages.retrieve(message.id, thread_id=thread.id).model_dump() == message.model_dump()
    updated = client.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}
    deleted = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert deleted.deleted and deleted.object == "thread.message.deleted"
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)


def test_message_list_pagination_and_run_filter(client):
    thread = client.beta.threads.create()
    ids = [client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(9)]
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=4, order="asc")] == ids
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=4)] == ids[::-1]
    assert client.beta.threads.messages.list(thread.id, run_id="run_none").data == []


def test_paging_while_deleting_keeps_going(client):
    """A common clean-up loop: the auto-pager's cursor names a message already deleted."""
    thread = client.beta.threads.create()
    for i in range(5):
        client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}")
    deleted = 0
    for message in client.beta.threads.messages.list(thread.id, limit=2):
        client.beta.threads.messages.delete(message.id, thread_id=thread.id)
        deleted += 1
    assert deleted == 5
    assert client.beta.threads.messages.list(thread.id).data == []


@pytest.mark.parametrize("body, param", [
    ({"role": "system", "content": "x"}, "role"),
    ({"role": "user"}, "content"),
    ({"role": "user", "content": []}, "content"),
    ({"role": "user", "content": ""}, "content"),
    ({"role": "user", "content": [{"type": "text"}]}, "content[0].text"),
    ({"role": "user", "content": [{"type": "audio", "audio": {}}]}, "content[0].type"),
    ({"role": "user", "content": "x", "colour": "red"}, "colour"),
    ({"role": "user", "content": "x", "metadata": {"a": 1}}, "metadata.a"),
])
def test_message_validation(runnel, client, body, param):
    thread = client.beta.threads.create()
    response = httpx.post(f"{runnel.base_url}/threads/{thread.id}/messages", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_initial_message_errors_name_their_index(runnel):
    response = httpx.post(f"{runnel.base_url}/threads", json={"messages": [{"role": "user", "content": "ok"}, {"role": "bot", "content": "x"}]})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[1].role"


def test_malformed_json_is_a_400(runnel):
    response = httpx.post(f"{runnel.base_url}/threads", content=b'{"metadata": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "parse the JSON body" in error["message"]
    response = httpx.post(f"{runnel.base_url}/threads", content=b'[1, 2]')
    assert response.status_code == 400


def test_unknown_thread_for_messages(client):
    with pytest.raises(openai.NotFoundError) as error:
        client.beta.threads.messages.create("thread_missing", role="user", content="x")
    assert error.value.body["message"] == "No thread found with id 'thread_missing'."


def test_request_id_reaches_the_sdk(client):
    thread = client.beta.threads.create()
    assert thread._request_id and thread._request_id.startswith("req_")
    with pytest.raises(openai.NotFoundError) as error:
        client.beta.threads.retrieve("thread_nope")
    assert error.value.request_id.startswith("req_")


def test_large_bodies_are_parsed_and_validated(runnel, client):
    """Bodies over 256 KiB are parsed off the database queues; the answers are the same."""
    thread = client.beta.threads.create()
    big = "word " * 400_000
    message = client.beta.threads.messages.create(thread.id, role="user", content=big)
    assert message.content[0].text.value == big
    broken = httpx.post(f"{runnel.base_url}/threads/{thread.id}/messages", content=b'{"role": "user", "content": "' + b"x" * 300_000)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    invalid = httpx.post(f"{runnel.base_url}/threads/{thread.id}/messages", json={"role": "robot", "content": "x" * 300_000})
    assert invalid.status_code == 400 and invalid.json()["error"]["param"] == "role"
