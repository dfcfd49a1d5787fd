"""Publishers deliver a stored article to where a project's site lives.

``make_publisher`` builds one from a project's settings. The helpers below
turn HTTP answers into the ``JobError`` codes the run's retry logic knows:
``publish_auth_failed``, ``publish_unavailable`` (retryable),
``publish_rejected`` and ``publish_bad_response``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from autopilot.errors import ConfigError, JobError
from autopilot.pipeline.targets import check_target_url
from autopilot.pipeline.types import Publisher

PUBLISHER_KINDS = ("folder", "wordpress", "webhook")

USER_AGENT = "Autopilot-Publisher/1"

_EXCERPT_CHARS = 200


def make_publisher(
    kind: str,
    settings: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    data_dir: Path,
    project_slug: str,
    allow_private: bool,
) -> Publisher:
    """Build the publisher of ``kind`` from a project's settings and secrets."""
    # Imported here because those modules import the helpers defined below.
    from autopilot.pipeline.publishers.folder import FolderPublisher
    from autopilot.pipeline.publishers.webhook import WebhookPublisher
    from autopilot.pipeline.publishers.wordpress import WordPressPublisher

    if kind == "folder":
        path = settings.get("path")
        if path:
            return FolderPublisher(Path(str(path)).expanduser())
        return FolderPublisher(data_dir / "sites" / project_slug)

    if kind == "wordpress":
        site_url = check_target_url(
            _required(settings, "site_url", kind),
            allow_private=allow_private,
            what="WordPress site URL (site_url)",
        )
        return WordPressPublisher(
            site_url,
            _required(settings, "username", kind),
            _required(secrets, "app_password", kind, secret=True),
            timeout_seconds=_timeout(settings, default=30.0),
        )

    if kind == "webhook":
        url = check_target_url(
            _required(settings, "url", kind),
            allow_private=allow_private,
            what="webhook URL (url)",
        )
        return WebhookPublisher(
            url,
            _required(secrets, "secret", kind, secret=True),
            timeout_seconds=_timeout(settings, default=20.0),
        )

    raise ConfigError(
        f"Unknown publisher {kind!r}; choose one of {', '.join(PUBLISHER_KINDS)}."
    )


def _required(
    values: Mapping[str, Any], name: str, kind: str, *, secret: bool = False
) -> str:
    """Return the non-empty setting ``name`` as text, or say which one is missing."""
    value = values.get(name)
    if value is None or not str(value).strip():
        where = "secret" if secret else "setting"
        raise ConfigError(
            f"The {kind} publisher needs the {where} {name!r}; "
            "add it to the project's publishing settings."
        )
    return str(value).strip()


def _timeout(settings: Mapping[str, Any], *, default: float) -> float:
    """Return the optional ``timeout_seconds`` setting, or ``default``."""
    value = settings.get("timeout_seconds")
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"timeout_seconds must be a number, not {value!r}.") from exc
    if seconds <= 0:
        raise ConfigError(f"timeout_seconds must be positive, not {value!r}.")
    return seconds


def http_error(response: httpx.Response, *, target: str, auth_hint: str) -> JobError:
    """Return the ``JobError`` for an unsuccessful HTTP answer from ``target``."""
    status = response.status_code

    if status in (401, 403):
        return JobError(
            "publish_auth_failed",
            f"{target} refused the credentials (HTTP {status}: {excerpt(response)}). "
            f"{auth_hint}",
        )
    if status == 429 or status >= 500:
        return JobError(
            "publish_unavailable",
            f"{target} is unavailable (HTTP {status}); the job will retry.",
            retryable=True,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if response.is_redirect:
        # Not followed: the new address has not been checked like the configured one.
        location = response.headers.get("Location", "?")
        return JobError(
            "publish_rejected",
            f"{target} redirected to {location} (HTTP {status}); "
            "configure that address instead.",
        )
    if 400 <= status < 500:
        return JobError(
            "publish_rejected",
            f"{target} rejected the article (HTTP {status}): {excerpt(response)}",
        )
    return JobError(
        "publish_bad_response",
        f"{target} answered with an unexpected HTTP {status}: {excerpt(response)}",
    )


def transport_error(exc: httpx.TransportError, *, target: str) -> JobError:
    """Return the retryable ``JobError`` for a timeout or a failed connection."""
    if isinstance(exc, httpx.TimeoutException):
        happened = "did not answer in time"
    else:
        happened = f"could not be reached ({type(exc).__name__}: {exc})"
    return JobError(
        "publish_unavailable",
        f"{target} {happened}; the job will retry.",
        retryable=True,
    )


def retry_after_seconds(value: str | None) -> float | None:
    """Return a Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()

    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def excerpt(response: httpx.Response) -> str:
    """Return the start of a response body on one line, for an error message."""
    text = " ".join(response.text.split())
    if not text:
        return "(empty body)"
    if len(text) > _EXCERPT_CHARS:
        return text[:_EXCERPT_CHARS] + "…"
    return text
