"""The fast paths of the performance work, held to what the slow ones promised: reads answered on
the I/O loop (sharing a read transaction per loop turn) still see every write acknowledged
before them, and polls of an executing run answered from the engine's state show what is
committed, however the request arrives."""
import json
import threading
import time

from http_raw import read_response, request


def test_a_read_sees_the_write_acknowledged_just_before_it(runnel):
    with runnel.connect() as writer_sock, runnel.connect() as reader_sock:
        for i in range(200):
            thread = request(writer_sock, "POST", "/v1/threads", {"metadata": {"i": str(i)}}).json()
            # Another connection, so the read may fall in the same loop turn as other reads.
            got = request(reader_sock, "GET", f"/v1/threads/{thread['id']}")
            assert got.status == 200 and got.json()["metadata"] == {"i": str(i)}, (i, got.status)
            changed = request(writer_sock, "POST", f"/v1/threads/{thread['id']}", {"metadata": {"i": f"{i}b"}})
            assert changed.status == 200
            again = request(reader_sock, "GET", f"/v1/threads/{thread['id']}")
            assert again.json()["metadata"] == {"i": f"{i}b"}, i


def test_a_pipelined_read_after_a_write_sees_it(runnel):
    with runnel.connect() as sock:
        thread_id = request(sock, "POST", "/v1/threads", {}).json()["id"]
        for i in range(50):
            body = json.dumps({"metadata": {"n": str(i)}}).encode()
            sock.sendall(f"POST /v1/threads/{thread_id} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                         + body + f"GET /v1/threads/{thread_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            buffer = bytearray()
            assert read_response(sock, buffer).status == 200
            assert read_response(sock, buffer).json()["metadata"] == {"n": str(i)}, i


def test_reads_from_many_connections_at_once_see_every_committed_write(runnel):
    """Writers and readers race on many connections; a reader checks that each thread it was told
    about (after its creation was acknowledged) reads back."""
    created = []
    lock = threading.Lock()
    failures = []

    def write():
        with runnel.connect() as sock:
            for _ in range(60):
                thread_id = request(sock, "POST", "/v1/threads", {}).json()["id"]
                with lock:
                    created.append(thread_id)

    def read():
        with runnel.connect() as sock:
            for _ in range(120):
                with lock:
                    known = created[-1] if created else None
                if known is None:
                    time.sleep(0.001)
                    continue
                response = request(sock, "GET", f"/v1/threads/{known}")
                if response.status != 200:
                    failures.append((known, response.status))

    workers = [threading.Thread(target=write) for _ in range(4)] + [threading.Thread(target=read) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not failures


def executing_run(sock, content):
    """A run the echo model (started with a delay) is executing; its GET path."""
    assistant = request(sock, "POST", "/v1/assistants", {"model": "echo"}).json()
    run = request(sock, "POST", "/v1/threads/runs", {
        "assistant_id": assistant["id"], "thread": {"messages": [{"role": "user", "content": content}]}}).json()
    path = f"/v1/threads/{run['thread_id']}/runs/{run['id']}"
    deadline = time.time() + 10
    while request(sock, "GET", path).json()["status"] != "in_progress":
        assert time.time() < deadline
        time.sleep(0.02)
    return run, path


def test_a_poll_of_an_executing_run_follows_its_changes(start_runnel):
    server = start_runnel("--echo-delay-ms", "3000")
    with server.connect() as sock:
        run, path = executing_run(sock, "one two three")
        polled = request(sock, "GET", path)
        assert polled.status == 200 and polled.headers["openai-poll-after-ms"]
        # New metadata shows at once in the poll answered from the engine's state.
        assert request(sock, "POST", path, {"metadata": {"k": "v"}}).status == 200
        assert request(sock, "GET", path).json()["metadata"] == {"k": "v"}
        # So does a cancel.
        assert request(sock, "POST", path + "/cancel").status == 200
        deadline = time.time() + 10
        while (status := request(sock, "GET", path).json()["status"]) not in ("cancelled",):
            assert status in ("cancelling", "in_progress") and time.time() < deadline, status
            time.sleep(0.02)
        # Another thread finds no such run.
        other = request(sock, "GET", f"/v1/threads/thread_nope/runs/{run['id']}")
        assert other.status == 404


def test_a_poll_with_a_large_body_is_still_answered(start_runnel):
    """A body past 256 KB is parsed off the I/O loop: a handler that answers on the loop must
    still be heard when it runs there."""
    server = start_runnel("--echo-delay-ms", "3000")
    with server.connect() as sock:
        run, path = executing_run(sock, "one two")
        sock.settimeout(10)
        big = b"x" * (300 * 1024)
        response = request(sock, "GET", path, big)
        assert response.status == 200 and response.json()["id"] == run["id"]
        thread = request(sock, "GET", f"/v1/threads/{run['thread_id']}", big)
        assert thread.status == 200 and thread.json()["id"] == run["thread_id"]
