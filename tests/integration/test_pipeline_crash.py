"""A worker killed between the publisher's call and the checkpoint: still one post.

The first worker is the real ``autopilot worker`` started through
``tests/crash_after_publish.py``, which SIGKILLs its own process as soon as the
real publish call returns. A second, normal ``autopilot worker`` then finds the
dead worker at once (its process is gone; on PostgreSQL its session ended),
retries the run, and must find what the first attempt already published.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from crash_after_publish import CRASH_MARKER
from pipeline_helpers import (
    AUTOPILOT,
    SECRET_KEY,
    articles_of,
    cli_env,
    events_of,
    keyword_states,
    make_settings,
    new_project,
    start_run,
    wait_finished,
)

from autopilot.db import Database
from autopilot.jobs import control
from autopilot.jobs.records import JobRecord
from autopilot.pipeline.projects import ProjectUpdate
from autopilot.settings import Settings

CRASH_SCRIPT = Path(__file__).resolve().parents[1] / "crash_after_publish.py"
WORDPRESS_FILE = Path("/tmp/autopilot-wordpress.json")
LEASE_SECONDS = 30.0
"""Long on purpose: recovery must come from noticing the dead worker, not a lease."""

WEBHOOK_SECRET = "webhook-secret-for-crash-tests"


def _worker_env(database_url: str, settings: Settings) -> dict[str, str]:
    return cli_env(
        AUTOPILOT_DATABASE_URL=database_url,
        AUTOPILOT_DATA_DIR=str(settings.data_dir),
        AUTOPILOT_SECRET_KEY=SECRET_KEY,
        AUTOPILOT_ALLOW_PRIVATE_TARGETS="1",
        AUTOPILOT_RETRY_BASE_SECONDS="0",
        AUTOPILOT_RETRY_MAX_SECONDS="0",
        AUTOPILOT_HEARTBEAT_SECONDS="0.5",
        AUTOPILOT_LEASE_SECONDS=str(LEASE_SECONDS),
        AUTOPILOT_REAP_INTERVAL_SECONDS="1",
        AUTOPILOT_POLL_SECONDS="0.1",
        AUTOPILOT_SHUTDOWN_GRACE_SECONDS="2",
        AUTOPILOT_LOG_LEVEL="INFO",
    )


def crash_then_recover(
    db: Database,
    database_url: str,
    settings: Settings,
    project_id: int,
    posts_made: Callable[[], int],
) -> JobRecord:
    """Run the project's job in a worker that dies after publishing, then recover.

    ``posts_made`` counts the posts on the target; it must be 1 after the crash.
    """
    job_id = start_run(db, settings, project_id)
    env = _worker_env(database_url, settings)
    workdir = settings.data_dir.parent

    crashed = subprocess.run(
        [sys.executable, str(CRASH_SCRIPT), "worker", "--burst"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert CRASH_MARKER in crashed.stderr
    lost = control.get_job(db, job_id)
    assert (lost.status, lost.stage, lost.attempt) == ("running", "publishing", 1)
    assert posts_made() == 1, "the dead worker published before it died"

    log_path = workdir / "recovery-worker.log"
    with log_path.open("w") as log:
        recovery = subprocess.Popen(
            [str(AUTOPILOT), "worker"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            job = wait_finished(db, job_id, timeout=LEASE_SECONDS - 10)
        except AssertionError as late:
            raise AssertionError(f"{late}\n{log_path.read_text()}") from None
        finally:
            recovery.send_signal(signal.SIGTERM)
            recovery.wait(timeout=20)
    output = log_path.read_text()
    assert recovery.returncode == 0, output
    assert job.status == "completed", output
    assert job.attempt == 2

    reaped = [e for e in events_of(db, job_id) if e.event == "retry_scheduled"]
    assert [e.code for e in reaped] == ["worker_lost"]
    reason = reaped[0].reason or ""
    assert "is gone" in reason or "session ended" in reason, reason
    return job


def _one_article(db: Database, project_id: int, job: JobRecord) -> dict[str, Any]:
    """The run's only article, published once and recorded as such."""
    [article] = articles_of(db, project_id)
    assert article["job_id"] == job.id
    assert article["remote_id"]
    assert article["published_at"] is not None
    assert job.result is not None and job.result["articleId"] == article["id"]
    assert job.result["url"] == article["remote_url"]
    assert set(keyword_states(db, project_id).values()) == {"used"}
    return article


# Folder ---------------------------------------------------------------------


@pytest.mark.slow
def test_crash_after_writing_the_file_leaves_one_markdown_file(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A worker killed after writing the file: the retry rewrites that same file."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, [("zuurdesem starter", 0)])

    def files() -> list[Path]:
        return sorted(settings.data_dir.rglob("*.md"))

    job = crash_then_recover(db, database_url, settings, project, lambda: len(files()))

    assert len(files()) == 1, files()
    article = _one_article(db, project, job)
    assert article["remote_id"] == files()[0].name


# Webhook --------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint that makes one post per Idempotency-Key."""

    url: str = ""
    deliveries: list[str] = field(default_factory=list)
    posts: dict[str, str] = field(default_factory=dict)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        signed = headers.get("X-Autopilot-Timestamp", "").encode() + b"." + body
        expected = hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256)
        if headers.get("X-Autopilot-Signature") != f"sha256={expected.hexdigest()}":
            with self.lock:
                self.bad_signatures += 1
            return 401, {"error": "bad signature"}
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            self.deliveries.append(key)
            post_id = self.posts.setdefault(key, f"post-{len(self.posts) + 1}")
        return 200, {"id": post_id, "url": f"https://hooks.example/{post_id}"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1, for one test."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = state.receive(self.headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.slow
def test_crash_after_the_webhook_delivery_makes_one_logical_post(
    db: Database, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """A redelivery after the crash carries the same key: one post, one article."""
    settings = make_settings(tmp_path)
    update = ProjectUpdate(
        publisher="webhook",
        publisher_settings={"url": receiver.url},
        secrets={"publisher_secret": WEBHOOK_SECRET},
    )
    project = new_project(db, settings, [("moestuin aanleggen", 0)], update)

    job = crash_then_recover(
        db, database_url, settings, project, lambda: len(receiver.posts)
    )

    assert receiver.bad_signatures == 0
    assert len(receiver.deliveries) == 2, "delivered before the crash and after it"
    assert len(set(receiver.deliveries)) == 1
    assert len(receiver.posts) == 1
    article = _one_article(db, project, job)
    assert article["remote_id"] == "post-1"


# WordPress ------------------------------------------------------------------


@dataclass(frozen=True)
class WordPress:
    url: str
    username: str
    app_password: str

    def posts(self, search: str) -> list[dict[str, Any]]:
        """Every post, in any status, whose text contains ``search``."""
        response = httpx.get(
            f"{self.url}/",
            params={
                "rest_route": "/wp/v2/posts",
                "search": search,
                "status": "any",
                "context": "edit",
                "per_page": "100",
            },
            auth=(self.username, self.app_password),
            timeout=15,
        )
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        assert int(response.headers["X-WP-Total"]) == len(found)
        return found

    def delete(self, post_id: int) -> None:
        httpx.delete(
            f"{self.url}/",
            params={"rest_route": f"/wp/v2/posts/{post_id}", "force": "true"},
            auth=(self.username, self.app_password),
            timeout=15,
        ).raise_for_status()


@pytest.fixture
def wordpress() -> WordPress:
    """The local WordPress of .ci/wordpress.sh; a failure in CI, a skip elsewhere."""
    if not WORDPRESS_FILE.exists():
        reason = f"{WORDPRESS_FILE} is missing: run `bash .ci/wordpress.sh` first"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    data = json.loads(WORDPRESS_FILE.read_text())
    return WordPress(data["url"], data["username"], data["app_password"])


@pytest.mark.slow
@pytest.mark.wordpress
# The database's part (finding the dead worker) is covered on both above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_crash_after_creating_the_wordpress_post_leaves_one_post(
    db: Database, database_url: str, tmp_path: Path, wordpress: WordPress
) -> None:
    """The retry finds the post the dead worker created and updates it."""
    token = secrets.token_hex(6)
    settings = make_settings(tmp_path)
    update = ProjectUpdate(
        publisher="wordpress",
        publisher_settings={"site_url": wordpress.url, "username": wordpress.username},
        secrets={"publisher_app_password": wordpress.app_password},
    )
    project = new_project(db, settings, [(f"crashtest {token}", 0)], update)

    try:
        job = crash_then_recover(
            db, database_url, settings, project, lambda: len(wordpress.posts(token))
        )

        posts = wordpress.posts(token)
        assert len(posts) == 1, [p["id"] for p in posts]
        article = _one_article(db, project, job)
        assert article["remote_id"] == str(posts[0]["id"])
        assert posts[0]["status"] == "draft"
    finally:
        for post in wordpress.posts(token):
            wordpress.delete(post["id"])
