"""A loopback OpenAI-compatible server that misbehaves on purpose, for the transport tests and the
CLI's Ctrl-C test.

Each chat request is answered by ``answer(handler, body)``, which writes to the socket itself, so
a test can trickle one byte every 2 s, stream only ``: ping`` keep-alives, or send 50 MB. Writes
to a client that gave up end quietly. ``/v1/models`` lists one model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[BaseHTTPRequestHandler, Any], None]


def completion_body(text: str) -> bytes:
    return json.dumps(
        {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20},
        }
    ).encode()


def send_json(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def trickle(interval: float = 2.0) -> Answer:
    """A 200 with a Content-Length it never reaches: one byte every ``interval`` seconds."""

    def answer(handler: BaseHTTPRequestHandler, _body: Any) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", "100000")
        handler.end_headers()
        handler.wfile.write(b'{"choices": [')
        handler.wfile.flush()
        while True:
            time.sleep(interval)
            handler.wfile.write(b" ")
            handler.wfile.flush()

    return answer


def pings(interval: float = 1.0) -> Answer:
    """An event stream that never sends a token: ``: ping`` comments only (a streamed request),
    or the same trickle for a plain one."""

    def answer(handler: BaseHTTPRequestHandler, body: Any) -> None:
        if not (isinstance(body, dict) and body.get("stream")):
            return trickle(interval)(handler, body)
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        while True:
            handler.wfile.write(b": ping\n\n")
            handler.wfile.flush()
            time.sleep(interval)

    return answer


def huge(size: int, char: str = "x") -> Answer:
    """A well-formed completion whose text is ``size`` bytes of one character, sent in 1 MB pieces."""

    def answer(handler: BaseHTTPRequestHandler, _body: Any) -> None:
        head = b'{"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "'
        tail = b'"}}], "usage": {"prompt_tokens": 10, "completion_tokens": 20}}'
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(head) + size + len(tail)))
        handler.end_headers()
        handler.wfile.write(head)
        piece = char.encode() * 2**20
        left = size
        while left > 0:
            handler.wfile.write(piece[: min(left, len(piece))])
            left -= len(piece)
        handler.wfile.write(tail)

    return answer


class HostileServer:
    """``answer`` for every chat request; ``requests`` counts them, ``answered`` the finished ones."""

    def __init__(self, answer: Answer, port: int = 0):
        self.answer = answer
        self.requests = 0
        self.answered = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                send_json(self, json.dumps({"data": [{"id": "hostile", "object": "model"}]}).encode())

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                if not self.path.endswith("/chat/completions"):  # e.g. /tokenize: not served here
                    data = b'{"error": {"message": "not found"}}'
                    self.send_response(404)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                with outer.lock:
                    outer.requests += 1
                try:
                    outer.answer(self, body)
                    with outer.lock:
                        outer.answered += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: what it should do

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
