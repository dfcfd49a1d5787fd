"""An OpenAI-compatible chat-completions server for tests, scripted per test.

Each test queues the replies it wants; every request is recorded so a test can
check what the client sent. It listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a dict body is sent as JSON, a str body as text."""

    status: int = 200
    body: dict[str, Any] | str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """A request as the server saw it; header names are lowercase."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def completion(
    content: str,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 20,
    model: str = "test-model",
) -> Reply:
    """Return a successful chat.completion reply shaped like OpenAI's."""
    return Reply(
        body={
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": None,
        }
    )


def error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Return an error reply with OpenAI's error envelope."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return Reply(status=status, body=body, headers=headers or {})


class FakeOpenAIServer:
    """A chat-completions server answering from a queue of scripted replies."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.fake = self
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}
        )

    @property
    def base_url(self) -> str:
        """Return the URL a client is configured with, ending in /v1."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def queue(self, *replies: Reply) -> None:
        """Add replies, answered in order, one per request."""
        with self._lock:
            self._replies.extend(replies)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Wake handlers still sleeping out a delay so closing does not wait.
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def answer(self, received: Received) -> Reply:
        """Record a request and return the reply it gets."""
        with self._lock:
            self.requests.append(received)
            if received.path != "/v1/chat/completions":
                return error(404, f"Unknown path {received.path}", code="not_found")
            if not self._replies:
                return error(500, "The test scripted no reply for this request.")
            return self._replies.popleft()


class _Server(ThreadingHTTPServer):
    """The HTTP server; it waits for its handler threads when it closes."""

    daemon_threads = False
    block_on_close = True
    fake: FakeOpenAIServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        """Record the request, then send the next scripted reply."""
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        received = Received(
            method="POST",
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        fake = self.server.fake
        reply = fake.answer(received)
        if reply.delay and fake.stopping.wait(reply.delay):
            return

        is_json = not isinstance(reply.body, str)
        payload = json.dumps(reply.body) if is_json else str(reply.body)
        data = payload.encode("utf-8")
        try:
            self.send_response(reply.status)
            content_type = "application/json" if is_json else "text/html"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test); nobody is left to answer.
            return

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""
