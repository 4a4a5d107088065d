"""A fake OpenAI-compatible chat-completions server for the `openai` backend tests.

What it streams depends on the last user message:
  "fail 500" / "fail 429"      -> that HTTP error with an OpenAI error body
  "cut"                        -> finish_reason "length" after two words
  "call NAME ARGS"             -> one tool call, its arguments split over many chunks
  "parallel"                   -> two tool calls (get_weather for Paris and Oslo)
  "slow ..."                   -> text, one word every 0.2 s (for cancel tests)
  anything else                -> that text, one word per chunk
After tool results it answers "results: " plus the outputs joined by ", ".
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeUpstream:
    def __init__(self):
        self.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

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
                upstream.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path != "/v1/chat/completions":
                    return self.send_json(404, {"error": {"message": "no such path"}})
                messages = body["messages"]
                if messages[-1]["role"] == "tool":
                    outputs = [m["content"] for m in messages if m["role"] == "tool"]
                    return self.stream_text("results: " + ", ".join(outputs))
                last = next(m for m in reversed(messages) if m["role"] == "user")
                text = last["content"] if isinstance(last["content"], str) else " ".join(
                    p.get("text", "") for p in last["content"])
                if text.startswith("fail "):
                    status = int(text.split()[1])
                    return self.send_json(status, {"error": {"message": f"upstream says {status}", "type": "x", "code": None}})
                if text == "cut":
                    return self.stream_text("one two", finish="length")
                if text.startswith("call "):
                    _, name, arguments = text.split(" ", 2)
                    return self.stream_calls([(name, arguments)])
                if text == "parallel":
                    return self.stream_calls([("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Oslo"}')])
                return self.stream_text(text, delay=0.2 if text.startswith("slow") else 0)

            def send_json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def start_stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def event(self, payload):
                data = f"data: {json.dumps(payload)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def finish_stream(self, finish, completion_tokens):
                self.event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                self.event({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": completion_tokens, "total_tokens": 11 + completion_tokens}})
                data = b"data: [DONE]\n\n"
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                self.wfile.flush()

            def stream_text(self, text, finish="stop", delay=0):
                self.start_stream()
                words = text.split(" ")
                try:
                    for index, word in enumerate(words):
                        piece = word if index == len(words) - 1 else word + " "
                        self.event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                        if delay:
                            time.sleep(delay)
                    self.finish_stream(finish, len(words))
                except (BrokenPipeError, ConnectionResetError):
                    upstream.requests[-1]["aborted"] = True

            def stream_calls(self, calls):
                self.start_stream()
                for index, (name, arguments) in enumerate(calls):
                    self.event({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "id": f"call_up{index}", "type": "function", "function": {"name": name, "arguments": ""}}]}, "finish_reason": None}]})
                    for start in range(0, len(arguments), 3):
                        self.event({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "function": {"arguments": arguments[start:start + 3]}}]}, "finish_reason": None}]})
                self.finish_stream("tool_calls", 7)

        return Handler
