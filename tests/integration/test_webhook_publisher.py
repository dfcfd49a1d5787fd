"""The webhook publisher against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from autopilot.errors import ConfigError, JobError
from autopilot.pipeline.publishers import make_publisher
from autopilot.pipeline.publishers.webhook import WebhookPublisher
from autopilot.pipeline.types import ArticleToPublish

SECRET = "s3cret-for-tests"

ARTICLE = ArticleToPublish(
    article_id=12,
    project_id=4,
    idempotency_key="article-12-ab34",
    title="Tuinieren in de herfst",
    slug="tuinieren-herfst",
    meta_description="Wat je in de herfst in de tuin doet.",
    body_markdown="## Bladeren\n\nHark ze bij elkaar.",
    body_html="<h2>Bladeren</h2><p>Hark ze bij elkaar.</p>",
    language="nl",
    keyword="tuinieren herfst",
    status="publish",
    categories=("Tuin",),
    tags=("herfst",),
)


@dataclass
class Receiver:
    """A webhook receiver that checks signatures and honours Idempotency-Key."""

    url: str = ""
    status: int = 200
    reply: bytes | None = None
    reply_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    keys: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """Return the status and body the receiver answers with."""
        time.sleep(self.delay)
        signed = headers.get("X-Autopilot-Timestamp", "").encode() + b"." + body
        expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(
            headers.get("X-Autopilot-Signature", ""), f"sha256={expected}"
        ):
            return 401, b'{"error": "bad signature"}'

        key = headers["Idempotency-Key"]
        self.keys.append(key)
        self.bodies.append(json.loads(body))
        self.headers.append(headers)
        if self.reply is not None:
            return self.status, self.reply

        post_id = self.created.setdefault(key, 100 + len(self.created))
        answer = {"id": post_id, "url": f"https://blog.example/p/{post_id}"}
        return self.status, json.dumps(answer).encode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Run a receiver on a free port of 127.0.0.1 for one test."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, answer = state.handle(dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in state.reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/autopilot"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_publish_sends_signed_camel_case_json(receiver: Receiver) -> None:
    """The receiver gets the article as camelCase JSON with a valid signature."""
    published = WebhookPublisher(receiver.url, SECRET).publish(ARTICLE)

    assert published.remote_id == "100"
    assert published.url == "https://blog.example/p/100"
    assert receiver.bodies == [
        {
            "articleId": 12,
            "projectId": 4,
            "title": "Tuinieren in de herfst",
            "slug": "tuinieren-herfst",
            "metaDescription": "Wat je in de herfst in de tuin doet.",
            "bodyMarkdown": "## Bladeren\n\nHark ze bij elkaar.",
            "bodyHtml": "<h2>Bladeren</h2><p>Hark ze bij elkaar.</p>",
            "language": "nl",
            "keyword": "tuinieren herfst",
            "status": "publish",
            "categories": ["Tuin"],
            "tags": ["herfst"],
        }
    ]
    timestamp = int(receiver.headers[0]["X-Autopilot-Timestamp"])
    assert abs(timestamp - time.time()) < 60


def test_publishing_twice_sends_the_same_idempotency_key(receiver: Receiver) -> None:
    """Both attempts carry the article's key, so the receiver makes one post."""
    publisher = WebhookPublisher(receiver.url, SECRET)

    first = publisher.publish(ARTICLE)
    second = publisher.publish(ARTICLE)

    assert receiver.keys == ["article-12-ab34", "article-12-ab34"]
    assert first == second
    assert len(receiver.created) == 1


def test_answer_without_id_falls_back_to_key_and_webhook_url(
    receiver: Receiver,
) -> None:
    """A 2xx answer without JSON gives the idempotency key and the webhook URL."""
    receiver.status, receiver.reply = 204, b""

    published = WebhookPublisher(receiver.url, SECRET).publish(ARTICLE)

    assert published.remote_id == "article-12-ab34"
    assert published.url == receiver.url


def test_wrong_secret_is_publish_auth_failed(receiver: Receiver) -> None:
    """A 401 for a bad signature is a non-retryable publish_auth_failed."""
    with pytest.raises(JobError) as caught:
        WebhookPublisher(receiver.url, "not-the-secret").publish(ARTICLE)

    assert caught.value.code == "publish_auth_failed"
    assert caught.value.retryable is False
    assert "webhook secret" in caught.value.message


def test_503_is_retryable_publish_unavailable(receiver: Receiver) -> None:
    """A 503 is a retryable publish_unavailable."""
    receiver.status, receiver.reply = 503, b"maintenance"

    with pytest.raises(JobError) as caught:
        WebhookPublisher(receiver.url, SECRET).publish(ARTICLE)

    assert caught.value.code == "publish_unavailable"
    assert caught.value.retryable is True


def test_429_honours_retry_after(receiver: Receiver) -> None:
    """A 429 is retryable no sooner than its Retry-After says."""
    receiver.status, receiver.reply = 429, b"slow down"
    receiver.reply_headers = {"Retry-After": "42"}

    with pytest.raises(JobError) as caught:
        WebhookPublisher(receiver.url, SECRET).publish(ARTICLE)

    assert caught.value.code == "publish_unavailable"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 42


def test_other_4xx_is_rejected_with_status_and_excerpt(receiver: Receiver) -> None:
    """A 422 is a non-retryable publish_rejected quoting the status and the body."""
    receiver.status, receiver.reply = 422, b'{"error": "slug already taken"}'

    with pytest.raises(JobError) as caught:
        WebhookPublisher(receiver.url, SECRET).publish(ARTICLE)

    assert caught.value.code == "publish_rejected"
    assert caught.value.retryable is False
    assert "422" in caught.value.message
    assert "slug already taken" in caught.value.message


def test_timeout_is_retryable(receiver: Receiver) -> None:
    """A receiver slower than the timeout gives a retryable publish_unavailable."""
    receiver.delay = 1.0

    with pytest.raises(JobError) as caught:
        WebhookPublisher(receiver.url, SECRET, timeout_seconds=0.2).publish(ARTICLE)

    assert caught.value.code == "publish_unavailable"
    assert caught.value.retryable is True


def test_connection_refused_is_retryable() -> None:
    """Nobody listening on the port gives a retryable publish_unavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(JobError) as caught:
        WebhookPublisher(f"http://127.0.0.1:{port}/", SECRET).publish(ARTICLE)

    assert caught.value.code == "publish_unavailable"
    assert caught.value.retryable is True


def test_factory_refuses_a_loopback_webhook(tmp_path: Path) -> None:
    """Without AUTOPILOT_ALLOW_PRIVATE_TARGETS a webhook on 127.0.0.1 is refused."""
    with pytest.raises(ConfigError, match="AUTOPILOT_ALLOW_PRIVATE_TARGETS=1"):
        make_publisher(
            "webhook",
            {"url": "http://127.0.0.1:9/hook"},
            {"secret": SECRET},
            data_dir=tmp_path,
            project_slug="p",
            allow_private=False,
        )


def test_factory_names_the_missing_secret(tmp_path: Path) -> None:
    """A webhook without its secret is a ConfigError naming 'secret'."""
    with pytest.raises(ConfigError, match="'secret'"):
        make_publisher(
            "webhook",
            {"url": "https://93.184.216.34/hook"},
            {},
            data_dir=tmp_path,
            project_slug="p",
            allow_private=False,
        )


def test_factory_builds_a_working_webhook_publisher(
    receiver: Receiver, tmp_path: Path
) -> None:
    """With private targets allowed, the factory's publisher reaches the receiver."""
    publisher = make_publisher(
        "webhook",
        {"url": receiver.url},
        {"secret": SECRET},
        data_dir=tmp_path,
        project_slug="p",
        allow_private=True,
    )

    publisher.publish(ARTICLE)

    assert publisher.name == "webhook"
    assert receiver.keys == ["article-12-ab34"]
