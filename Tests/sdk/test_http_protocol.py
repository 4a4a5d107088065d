"""The HTTP/1.1 server on raw sockets: framing, keep-alive, pipelining and hostile input."""
import json
import socket
import time

from http_raw import is_closed, read_response, request


def test_health_without_auth_and_request_ids(start_runnel):
    server = start_runnel("--api-key", "secret")
    with server.connect() as sock:
        response = request(sock, "GET", "/health")
        assert response.status == 200 and response.json() == {"status": "ok"}
        assert response.headers["x-request-id"].startswith("req_")
        second = request(sock, "GET", "/v1/health")
        assert second.status == 200 and second.headers["x-request-id"] != response.headers["x-request-id"]


def test_keep_alive_and_pipelining_answer_in_order(runnel):
    with runnel.connect() as sock:
        ids = [request(sock, "POST", "/v1/threads", {"metadata": {"i": str(i)}}).json()["id"] for i in range(3)]
        pipeline = b"".join(f"GET /v1/threads/{tid} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for tid in ids)
        pipeline += b"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(pipeline)
        buffer = bytearray()
        answers = [read_response(sock, buffer) for _ in range(4)]
        assert [a.json()["id"] for a in answers[:3]] == ids
        assert answers[3].status == 404


def test_unprefixed_paths_are_served(runnel):
    with runnel.connect() as sock:
        thread = request(sock, "POST", "/threads", {}).json()
        assert request(sock, "GET", f"/threads/{thread['id']}").json()["id"] == thread["id"]


def test_chunked_request_body(runnel):
    body = json.dumps({"metadata": {"via": "chunked"}}).encode()
    with runnel.connect() as sock:
        sock.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n%s\r\n" % (5, body[:5]) + b"%x\r\n%s\r\n" % (len(body) - 5, body[5:]) + b"0\r\n\r\n")
        response = read_response(sock)
        assert response.status == 200 and response.json()["metadata"] == {"via": "chunked"}


def test_expect_100_continue(runnel):
    body = b'{"metadata": {"a": "b"}}'
    with runnel.connect() as sock:
        sock.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        buffer = bytearray()
        interim = read_response(sock, buffer, head_only=True)
        assert interim.status == 100
        sock.sendall(body)
        final = read_response(sock, buffer)
        assert final.status == 200 and final.json()["metadata"] == {"a": "b"}


def test_head_has_length_but_no_body(runnel):
    with runnel.connect() as sock:
        thread = request(sock, "POST", "/v1/threads", {}).json()
        head = request(sock, "HEAD", f"/v1/threads/{thread['id']}")
        assert head.status == 200 and int(head.headers["content-length"]) > 0
        # The connection stays usable: no body bytes were left behind.
        assert request(sock, "GET", "/health").json() == {"status": "ok"}


def test_unknown_path_and_wrong_method_use_the_envelope(runnel):
    with runnel.connect() as sock:
        missing = request(sock, "GET", "/v1/batches")
        assert missing.status == 404
        assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
        wrong = request(sock, "PUT", "/v1/assistants")
        assert wrong.status == 405
        assert set(wrong.headers["allow"].split(", ")) == {"GET", "POST", "HEAD"}
        assert wrong.json()["error"]["type"] == "invalid_request_error"


def raw_exchange(server, payload: bytes):
    sock = server.connect()
    sock.sendall(payload)
    response = read_response(sock)
    return sock, response


def assert_error_then_closed(server, payload, status):
    sock, response = raw_exchange(server, payload)
    with sock:
        assert response.status == status, response.body
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        assert response.headers.get("connection") == "close"
        assert "x-request-id" in response.headers
        assert is_closed(sock)


def test_malformed_request_line(runnel):
    assert_error_then_closed(runnel, b"THIS IS NOT HTTP\r\n\r\n", 400)
    assert_error_then_closed(runnel, b"GET /\x01 HTTP/1.1\r\n\r\n", 400)


def test_malformed_header(runnel):
    assert_error_then_closed(runnel, b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400)
    assert_error_then_closed(runnel, b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400)


def test_unsupported_version(runnel):
    assert_error_then_closed(runnel, b"GET /health HTTP/2.0\r\n\r\n", 505)


def test_header_section_too_large(start_runnel):
    server = start_runnel("--max-header-bytes", "4096")
    assert_error_then_closed(server, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 431)


def test_body_too_large_is_refused_without_reading_it(start_runnel):
    server = start_runnel("--max-body-bytes", "1024")
    with server.connect() as sock:
        # Only the head is sent: the answer must not wait for 100 MB that never come.
        sock.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        response = read_response(sock)
        assert response.status == 413
        assert is_closed(sock)
    assert_error_then_closed(server, b"POST /v1/threads HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n", 413)


def test_ambiguous_framing_is_rejected(runnel):
    assert_error_then_closed(runnel, b"POST /v1/threads HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
    assert_error_then_closed(runnel, b"POST /v1/threads HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400)
    assert_error_then_closed(runnel, b"POST /v1/threads HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400)


def test_slow_head_is_cut_off(start_runnel):
    server = start_runnel("--header-read-timeout", "1")
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        for _ in range(10):
            time.sleep(0.3)
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        assert is_closed(sock, timeout=5)
        assert time.monotonic() - started < 4


def test_idle_keep_alive_connection_is_closed(start_runnel):
    server = start_runnel("--keep-alive-timeout", "1")
    with server.connect() as sock:
        assert request(sock, "GET", "/health").status == 200
        assert is_closed(sock, timeout=5)


def test_half_open_connections_do_not_delay_others(runnel):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    idle = []
    try:
        for index in range(1000):
            sock = socket.create_connection(("127.0.0.1", runnel.port))
            if index % 2:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
            idle.append(sock)
        with runnel.connect() as sock:
            started = time.monotonic()
            response = request(sock, "GET", "/health")
            elapsed = time.monotonic() - started
        assert response.status == 200
        assert elapsed < 0.5, f"a normal request took {elapsed:.3f}s behind 1,000 idle connections"
    finally:
        for sock in idle:
            sock.close()


def test_connection_limit_answers_503_when_every_connection_is_busy(start_runnel):
    server = start_runnel("--max-connections", "5")
    # Half a request head each: busy, not idle, so none may be closed to make room.
    held = [server.connect() for _ in range(5)]
    for sock in held:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
    try:
        time.sleep(0.2)
        with server.connect() as extra:
            response = read_response(extra)
            assert response.status == 503 and response.headers["retry-after"] == "1"
            assert response.json()["error"]["type"] == "server_error"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    with server.connect() as sock:
        assert request(sock, "GET", "/health").status == 200


def test_idle_keep_alive_connections_make_room_longest_idle_first(start_runnel):
    server = start_runnel("--max-connections", "5")
    held = []
    for _ in range(5):
        sock = server.connect()
        assert request(sock, "GET", "/health").status == 200
        held.append(sock)
        time.sleep(0.05)
    try:
        for round in range(3):
            # Only a connection idle for a moment (0.25 s) is closed for a newcomer.
            time.sleep(0.3)
            extra = server.connect()
            assert request(extra, "GET", "/health").status == 200
            # The connection idle longest was closed to admit the new one.
            assert is_closed(held[round], timeout=2)
            held.append(extra)
        for sock in held[3:]:
            assert request(sock, "GET", "/health").status == 200
    finally:
        for sock in held:
            sock.close()


def test_http_1_0_closes_after_response(runnel):
    with runnel.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        response = read_response(sock)
        assert response.status == 200 and response.headers.get("connection") == "close"
        assert is_closed(sock)


def test_garbage_bytes_never_crash_the_server(runnel):
    import random
    generator = random.Random(7)
    for _ in range(200):
        payload = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 300)))
        with runnel.connect() as sock:
            try:
                sock.sendall(payload + b"\r\n\r\n")
                sock.settimeout(2)
                sock.recv(4096)
            except (ConnectionResetError, socket.timeout, BrokenPipeError):
                pass
    assert runnel.process.poll() is None
    with runnel.connect() as sock:
        assert request(sock, "GET", "/health").status == 200
