"""Hostile clients: what they send must cost the server nothing, lose nothing and crash nothing."""
import json
import select
import socket
import threading
import time

import openai
import pytest

from http_raw import is_closed, read_response, request


def rss_bytes(server) -> int:
    for line in open(f"/proc/{server.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def stream_request(body: dict) -> bytes:
    payload = json.dumps(body).encode()
    return (b"POST /v1/threads/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload)) + payload


def test_bytes_sent_down_an_open_stream_are_not_buffered(start_runnel, report):
    server = start_runnel("--echo-delay-ms", "20")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    words = " ".join(["word"] * 150)
    sock = server.connect(timeout=30)
    sock.sendall(stream_request({"assistant_id": assistant.id, "stream": True,
                                 "thread": {"messages": [{"role": "user", "content": words}]}}))
    buffer = bytearray()
    head = read_response(sock, buffer, head_only=True)
    assert head.status == 200
    before = rss_bytes(server)

    # The client keeps reading its stream on one thread and offers 256 MiB of junk on another.
    received = bytearray(buffer)
    def read_stream():
        while b"data: [DONE]" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                return
            received.extend(chunk)
    reader = threading.Thread(target=read_stream)
    reader.start()
    junk = b"\x00junk" * (1 << 18)
    offered, sent, stalled_since = 256 << 20, 0, None
    while sent < offered:
        _, writable, _ = select.select([], [sock], [], 0.2)
        if not writable:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 2:
                break
            continue
        stalled_since = None
        try:
            sent += sock.send(junk, socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
    grown = rss_bytes(server) - before
    reader.join(timeout=30)
    report(f"junk accepted by the kernel before the server stopped reading: {sent >> 20} MiB of 256; RSS grew {grown >> 20} MiB")
    assert grown < 64 << 20
    assert sent < offered, "the server read everything it was sent while it was answering"
    # The stream itself was never disturbed, and the junk is refused once the answer is out.
    assert b"event: thread.run.completed" in received and b"data: [DONE]" in received
    sock.close()
    assert client.beta.assistants.retrieve(assistant.id).id == assistant.id


def test_a_hundred_thousand_metadata_keys_are_refused_in_linear_time(runnel, report):
    keys = ",".join(f'"key{i}":"v"' for i in range(100_000))
    body = ('{"model":"gpt-4o","metadata":{' + keys + '}}').encode()
    with runnel.connect(timeout=30) as sock:
        started = time.monotonic()
        response = request(sock, "POST", "/v1/assistants", body, {"Content-Type": "application/json"})
        elapsed = time.monotonic() - started
    report(f"{len(body)} bytes, 100,000 keys: answered {response.status} in {elapsed * 1000:.0f} ms")
    assert response.status == 400 and response.json()["error"]["code"] == "object_above_max_properties"
    assert elapsed < 1.0


def test_nul_in_text_is_stored_and_returned_intact(client):
    assistant = client.beta.assistants.create(model="gpt-4o", name="a\u0000b", instructions="abc\u0000def")
    again = client.beta.assistants.retrieve(assistant.id)
    assert again.instructions == "abc\u0000def" and again.name == "a\u0000b"
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "before\u0000after"}])
    message = client.beta.threads.messages.list(thread.id).data[0]
    assert message.content[0].text.value == "before\u0000after"


@pytest.mark.parametrize("suffix", ["%00garbage", "%00", "%20x", "%FF", "%2F..", "%C3%A9"])
def test_a_byte_no_id_has_answers_404(runnel, suffix):
    with runnel.connect() as sock:
        thread = request(sock, "POST", "/v1/threads", {}).json()
        for path in (f"/v1/threads/{thread['id']}{suffix}", f"/v1/threads/{thread['id']}/runs/run_x{suffix}",
                     f"/v1/assistants/asst{suffix}"):
            response = request(sock, "GET", path)
            assert response.status == 404, path
            error = response.json()["error"]
            assert error["type"] == "invalid_request_error" and error["message"].startswith("No ")
        assert request(sock, "GET", f"/v1/threads/{thread['id']}").status == 200


def test_bodies_in_flight_have_a_global_budget(start_runnel):
    server = start_runnel("--max-inflight-body-bytes", "1000000", "--max-body-bytes", "800000")
    first = server.connect()
    first.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 700000\r\n\r\n")
    first.sendall(b'{"metadata": {"a": "')
    time.sleep(0.2)
    with server.connect() as second:
        second.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        refused = read_response(second)
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        assert "request bodies" in refused.json()["error"]["message"]
        assert is_closed(second)
    # Large bodies may not take the budget's last quarter: small ones still fit beside them.
    with server.connect() as third:
        assert request(third, "POST", "/v1/threads", {"metadata": {"k": "v" * 500}}).status == 200
    padding = b"x" * (700000 - len(b'{"metadata": {"a": "') - len(b'"}}'))
    first.sendall(padding + b'"}}')
    answer = read_response(first)
    assert answer.status == 400 and answer.json()["error"]["code"] == "string_above_max_length"
    first.close()
    with server.connect() as again:
        assert request(again, "POST", "/v1/threads", b"{" + b" " * 699998 + b"}").status == 200


def test_runs_waiting_past_the_queue_limit_get_429(start_runnel):
    server = start_runnel("--max-concurrent-runs", "1", "--max-queued-runs", "2", "--echo-delay-ms", "300")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": "a b c d"}]) for _ in range(5)]
    runs = [client.beta.threads.runs.create(thread_id=t.id, assistant_id=assistant.id) for t in threads[:3]]
    with pytest.raises(openai.RateLimitError) as refused:
        client.beta.threads.runs.create(thread_id=threads[3].id, assistant_id=assistant.id)
    assert refused.value.response.headers["retry-after"] == "1" and "waiting" in refused.value.message
    for thread, run in zip(threads, runs):
        assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "completed"
    assert client.beta.threads.runs.create_and_poll(thread_id=threads[4].id, assistant_id=assistant.id).status == "completed"


def test_nested_nulls_the_schema_forbids_are_refused(client):
    cases = [
        ({"tool_resources": {"code_interpreter": None}}, "tool_resources.code_interpreter"),
        ({"tool_resources": {"code_interpreter": {"file_ids": None}}}, "tool_resources.code_interpreter.file_ids"),
        ({"tool_resources": {"file_search": None}}, "tool_resources.file_search"),
        ({"tool_resources": {"file_search": {"vector_store_ids": None}}}, "tool_resources.file_search.vector_store_ids"),
        ({"tools": [{"type": "file_search", "file_search": None}]}, "tools[0].file_search"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "description": None}}},
         "response_format.json_schema.description"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": 0}}}, "response_format.json_schema.schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": "x"}}}, "response_format.json_schema.schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": False}}}, "response_format.json_schema.schema"),
    ]
    for fields, param in cases:
        with pytest.raises(openai.BadRequestError) as refused:
            client.beta.assistants.create(model="gpt-4o", **fields)
        assert refused.value.body["param"] == param and refused.value.body["code"] == "invalid_type", fields
    assert client.beta.assistants.list().data == []


def test_ranking_options_are_completed_with_their_defaults(client):
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[
        {"type": "file_search", "file_search": {"ranking_options": {"ranker": "auto"}}}])
    options = client.beta.assistants.retrieve(assistant.id).tools[0].file_search.ranking_options
    assert options.ranker == "auto" and options.score_threshold == 0


def test_a_run_cancelled_mid_stream_reports_the_tokens_it_used(start_runnel):
    server = start_runnel("--echo-delay-ms", "30")
    client = server.client()
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": " ".join(["word"] * 100)}])
    pieces = []
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        for event in stream:
            if event.event == "thread.message.delta":
                pieces.append(event.data.delta.content[0].text.value)
                if len(pieces) == 5:
                    client.beta.threads.runs.cancel(run_id=stream.current_run.id, thread_id=thread.id)
        run = stream.get_final_run()
    assert run.status == "cancelled"
    assert run.usage.prompt_tokens == 100 and run.usage.completion_tokens >= 5
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
