"""A fake OpenAI-compatible chat-completions server that follows the echo model's documented
rules, so the same SDK tests run against `--backend echo` and `--backend openai`.

Rules (as the echo backend): answer with the last user message's text, one word per chunk; each
`/call NAME {json}` line is a tool call (arguments streamed in 8-character fragments);
tool_choice `required` or a named function calls it with `{}`; after tool results, answer with
the outputs one per line. Tokens are whitespace-separated words. `max_tokens` cuts the answer
(finish_reason "length"). Extra, for failure tests: a last user message "fail 500" / "fail 429"
answers that HTTP error, and "hostile MODE" streams something no server should (see HOSTILE).
A URL prefix /delay/N waits N ms before each chunk.
"""
import json
import random
import re
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def words(text):
    return re.findall(r"\S+\s*", text)


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and "text" in part)
    return ""


def prompt_tokens(messages):
    total = 0
    for message in messages:
        total += len(text_of(message.get("content")).split())
        for call in message.get("tool_calls") or []:
            total += len(call["function"]["name"].split()) + len(call["function"]["arguments"].split())
    return total


def embeddings(body):
    """A deterministic stand-in for an embedding model: each word adds 1 to one of 64 dimensions
    (by a stable hash), normalised, so texts sharing words point the same way."""
    import hashlib
    import math
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = []
    for index, text in enumerate(inputs):
        vector = [0.0] * 64
        for word in re.findall(r"\w+", text.lower()):
            vector[hashlib.md5(word.encode()).digest()[0] % 64] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        data.append({"object": "embedding", "index": index, "embedding": [v / norm for v in vector]})
    return {"object": "list", "model": body["model"], "data": data,
            "usage": {"prompt_tokens": sum(len(t.split()) for t in inputs), "total_tokens": sum(len(t.split()) for t in inputs)}}


def planned_calls(body):
    functions = [t["function"]["name"] for t in body.get("tools", []) if t.get("type") == "function"]
    choice = body.get("tool_choice")
    messages = body["messages"]
    if choice == "none" or not functions or messages[-1]["role"] == "tool":
        return []
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    calls = []
    for line in text_of(last_user["content"] if last_user else "").split("\n"):
        line = line.lstrip(" ")
        if not line.startswith("/call "):
            continue
        rest = line[6:].lstrip(" ")
        name = rest.split(" ", 1)[0]
        if name:
            arguments = rest[len(name):].strip(" \t\r") or "{}"
            calls.append((name, arguments))
    if not calls:
        if isinstance(choice, dict) and choice.get("function", {}).get("name"):
            name = choice["function"]["name"]
            # A forced file_search (Runnel's own tool) searches for what the user wrote.
            query = text_of(last_user["content"] if last_user else "")
            calls = [(name, json.dumps({"query": query}) if name == "file_search" else "{}")]
        elif choice == "required":
            calls = [(functions[0], "{}")]
    return calls if body.get("parallel_tool_calls", True) else calls[:1]


# What a hostile or broken model server may send, by the mode named in "hostile MODE".
HOSTILE = {
    # Usage no counter can hold: a float far beyond Int64 and Int64's maximum itself.
    "usage": lambda handler: handler.raw_events([
        {"choices": [{"index": 0, "delta": {"content": "fine "}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 1e20, "completion_tokens": 9223372036854775807}},
    ]),
    # A tool call whose index is no array position.
    "tool-index": lambda handler: handler.raw_events([
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1e20, "id": "call_x", "type": "function",
                                                            "function": {"name": "f", "arguments": ""}}]}, "finish_reason": None}]},
    ]),
    # 64 MiB on one line, never ended.
    "endless-line": lambda handler: handler.raw_bytes([b"data: "] + [b"x" * (1 << 20)] * 64),
    # An event whose bytes are not UTF-8.
    "utf8": lambda handler: handler.raw_bytes([b'data: {"choices": [{"index": 0, "delta": {"content": "\xff\xfe"}}]}\n\n']),
}


class FakeUpstream:
    def __init__(self):
        self.requests = []
        # A deep accept queue: several nodes' executors connect at once.
        ThreadingHTTPServer.request_queue_size = 256
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def delayed_url(self, milliseconds):
        return f"http://127.0.0.1:{self.server.server_address[1]}/delay/{milliseconds}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(upstream):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record = {"path": self.path, "headers": dict(self.headers), "body": body}
                upstream.requests.append(record)
                if self.path == "/v1/embeddings":
                    return self.send_json(200, embeddings(body))
                match = re.fullmatch(r"(?:/delay/(\d+))?/v1/chat/completions", self.path)
                if not match:
                    return self.send_json(404, {"error": {"message": f"no route {self.path}"}})
                self.delay = int(match.group(1) or 0) / 1000
                messages = body["messages"]
                last_user = next((m for m in reversed(messages) if m["role"] == "user"), {"content": ""})
                text = text_of(last_user["content"])
                if messages[-1]["role"] != "tool" and re.fullmatch(r"fail \d{3}", text):
                    status = int(text.split()[1])
                    return self.send_json(status, {"error": {"message": f"upstream says {status}", "type": "x", "code": None}})
                hostile = re.fullmatch(r"hostile (\S+)", text)
                if messages[-1]["role"] != "tool" and hostile:
                    try:
                        return HOSTILE[hostile.group(1)](self)
                    except (BrokenPipeError, ConnectionResetError):
                        record["aborted"] = True
                        return
                self.prompt = prompt_tokens(messages)
                try:
                    calls = planned_calls(body)
                    if calls:
                        return self.stream_calls(calls)
                    if messages[-1]["role"] == "tool":
                        outputs = []
                        for message in reversed(messages):
                            if message["role"] != "tool":
                                break
                            outputs.insert(0, message["content"])
                        text = "\n".join(outputs)
                    self.stream_text(text, body.get("max_tokens"))
                except (BrokenPipeError, ConnectionResetError):
                    record["aborted"] = True

            def send_json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def event(self, payload):
                if self.delay:
                    time.sleep(self.delay)
                data = f"data: {json.dumps(payload)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def start_stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def finish_stream(self, finish, completion):
                self.wfile.write(b"")
                data = f"data: {json.dumps({'choices': [{'index': 0, 'delta': {}, 'finish_reason': finish}]})}\n\n"
                data += f"data: {json.dumps({'choices': [], 'usage': {'prompt_tokens': self.prompt, 'completion_tokens': completion, 'total_tokens': self.prompt + completion}})}\n\n"
                data += "data: [DONE]\n\n"
                raw = data.encode()
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(raw), raw))
                self.wfile.flush()

            def raw_events(self, payloads):
                self.raw_bytes([f"data: {json.dumps(p)}\n\n".encode() for p in payloads] + [b"data: [DONE]\n\n"])

            def raw_bytes(self, pieces):
                self.start_stream()
                for piece in pieces:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def stream_text(self, text, limit):
                self.start_stream()
                sent = 0
                for word in words(text):
                    if limit is not None and sent == limit:
                        return self.finish_stream("length", sent)
                    self.event({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
                    sent += 1
                self.finish_stream("stop", sent)

            def stream_calls(self, calls):
                self.start_stream()
                used = 0
                for index, (name, arguments) in enumerate(calls):
                    call_id = "call_" + "".join(random.choices(string.ascii_letters + string.digits, k=24))
                    self.event({"choices": [{"index": 0, "delta": {"tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}, "finish_reason": None}]})
                    for start in range(0, len(arguments), 8):
                        self.event({"choices": [{"index": 0, "delta": {"tool_calls": [
                            {"index": index, "function": {"arguments": arguments[start:start + 8]}}]}, "finish_reason": None}]})
                    used += 1 + len(arguments.split())
                self.finish_stream("tool_calls", used)

        return Handler
