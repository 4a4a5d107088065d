"""More clients than the process may open files: the limit is fitted to the descriptors at start,
idle keep-alive connections make room, busy ones are answered 503, and nothing aborts."""
import json
import re
import time

from http_raw import read_response, request

OPEN_FILES = 512


def open_stream(server, assistant_id):
    sock = server.connect(timeout=60)
    body = json.dumps({"assistant_id": assistant_id, "stream": True,
                       "thread": {"messages": [{"role": "user", "content": "one two three four five six seven eight"}]}}).encode()
    sock.sendall(b"POST /v1/threads/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (len(body), body))
    return sock


def test_more_streams_than_descriptors(start_runnel, report):
    server = start_runnel("--echo-delay-ms", "100", open_files=OPEN_FILES)
    lowered = re.search(r"connection limit lowered from 10000 to (\d+)", server.log_text())
    assert lowered, server.log_text()
    limit = int(lowered.group(1))
    assert 0 < limit < OPEN_FILES
    assistant = server.client().beta.assistants.create(model="m")

    streams = [open_stream(server, assistant.id) for _ in range(OPEN_FILES + 100)]
    completed, refused = 0, 0
    for sock in streams:
        buffer = bytearray()
        response = read_response(sock, buffer)
        if response.status == 503:
            refused += 1
            assert response.headers["retry-after"] == "1"
        else:
            assert response.status == 200 and response.body.endswith(b"event: done\ndata: [DONE]\n\n")
            assert b"event: thread.run.completed" in response.body
            completed += 1
    report(f"{len(streams)} streams against {OPEN_FILES} descriptors (connection limit {limit}): "
          f"{completed} completed, {refused} refused with 503")
    assert completed + refused == len(streams)
    # The SDK client that made the assistant holds one connection of the limit.
    assert completed >= limit - 1 and refused > 0
    assert server.process.poll() is None

    # Every stream connection is now idle keep-alive: a newcomer is admitted by closing the
    # longest-idle one, not refused.
    time.sleep(0.3)
    with server.connect() as newcomer:
        assert request(newcomer, "GET", "/health").status == 200
    client = server.client()
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "after the storm"}])
    assert client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id).status == "completed"
    for sock in streams:
        sock.close()
    assert server.process.poll() is None


def test_a_configured_limit_above_the_descriptors_is_lowered_and_logged(start_runnel):
    server = start_runnel("--max-connections", "100000", open_files=OPEN_FILES)
    assert re.search(r"connection limit lowered from 100000 to \d+: the process may open 512 files", server.log_text())
