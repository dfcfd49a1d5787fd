"""Publishes articles by POSTing signed JSON to a URL the project owns."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from autopilot.pipeline.publishers import USER_AGENT, http_error, transport_error
from autopilot.pipeline.types import ArticleToPublish, Published

SIGNATURE_HEADER = "X-Autopilot-Signature"
TIMESTAMP_HEADER = "X-Autopilot-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"

_AUTH_HINT = (
    "Check the webhook secret: the receiver must verify the signature with the "
    "same secret that is stored in Autopilot."
)


class WebhookPublisher:
    """POSTs each article as JSON, signed with HMAC-SHA256 of the raw body.

    Every attempt at an article sends the same ``Idempotency-Key``; the
    receiver keeps a retry from creating a second post by honouring it.
    """

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout_seconds: float = 20) -> None:
        self.url = url
        self._secret = secret.encode()
        self.timeout_seconds = timeout_seconds

    def publish(self, article: ArticleToPublish) -> Published:
        """Send the article and return the id and URL the receiver reports."""
        body = json.dumps(
            payload(article), ensure_ascii=False, separators=(",", ":")
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: "sha256=" + sign(timestamp, body, self._secret),
            TIMESTAMP_HEADER: timestamp,
            IDEMPOTENCY_HEADER: article.idempotency_key,
        }

        try:
            response = httpx.post(
                self.url, content=body, headers=headers, timeout=self.timeout_seconds
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, target=f"The webhook {self.url}") from exc

        if not response.is_success:
            raise http_error(
                response, target=f"The webhook {self.url}", auth_hint=_AUTH_HINT
            )
        return self._published(response, article)

    def _published(
        self, response: httpx.Response, article: ArticleToPublish
    ) -> Published:
        """Read ``id`` and ``url`` from a JSON answer, falling back to ours."""
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {}

        remote_id = answer.get("id")
        if remote_id is None or remote_id == "":
            remote_id = article.idempotency_key
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            url = self.url
        return Published(remote_id=str(remote_id), url=url)


def payload(article: ArticleToPublish) -> dict[str, Any]:
    """Return the JSON document a webhook receives for ``article``."""
    return {
        "articleId": article.article_id,
        "projectId": article.project_id,
        "title": article.title,
        "slug": article.slug,
        "metaDescription": article.meta_description,
        "bodyMarkdown": article.body_markdown,
        "bodyHtml": article.body_html,
        "language": article.language,
        "keyword": article.keyword,
        "status": article.status,
        "categories": list(article.categories),
        "tags": list(article.tags),
    }


def sign(timestamp: str, body: bytes, secret: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``.

    Signing the timestamp too lets a receiver refuse an old request replayed.
    """
    message = timestamp.encode() + b"." + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
