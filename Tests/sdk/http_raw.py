"""Reading HTTP responses off a raw socket, for tests that need to see the exact bytes."""
import json
import socket


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def read_response(sock: socket.socket, buffer: bytearray = None, head_only=False) -> RawResponse:
    """Reads one response (Content-Length or chunked framing) from `sock`; leftover bytes stay in `buffer`."""
    buffer = buffer if buffer is not None else bytearray()
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response head: {bytes(buffer)!r}")
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    buffer[:] = rest
    if head_only or status in (100, 204, 304):
        return RawResponse(status, headers, b"")
    if headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffer:
                buffer.extend(_recv(sock))
            size_line, _, rest = bytes(buffer).partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += _recv(sock)
            body.extend(rest[:size])
            buffer[:] = rest[size + 2:]
            if size == 0:
                return RawResponse(status, headers, bytes(body))
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        buffer.extend(_recv(sock))
    body = bytes(buffer[:length])
    del buffer[:length]
    return RawResponse(status, headers, body)


def _recv(sock):
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("closed mid-response")
    return chunk


def is_closed(sock: socket.socket, timeout=5.0) -> bool:
    """True when the peer has closed (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def request(sock, method, path, body=None, headers=None) -> RawResponse:
    payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    lines = [f"{method} {path} HTTP/1.1", "Host: test", f"Content-Length: {len(payload)}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    return read_response(sock, head_only=(method == "HEAD"))
