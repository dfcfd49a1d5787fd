"""Shared helpers for the pipeline tests: settings, projects, workers, rows.

Every helper takes the test's own :class:`Database` or directory, so each test
owns its data. Project ids are random so that the idempotency keys of articles
(``autopilot-<project>-<article>``) never meet those of another test on a
shared target such as the local WordPress.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.jobs import control
from autopilot.jobs.records import JOBS_CHANNEL, EventRecord, JobRecord
from autopilot.jobs.retry import RetryPolicy
from autopilot.jobs.worker import Worker, WorkerConfig
from autopilot.models import Article, Keyword, Project
from autopilot.pipeline import keywords, projects
from autopilot.pipeline.runs import request_run
from autopilot.pipeline.types import (
    ArticleBrief,
    ArticleToPublish,
    Draft,
    ProgressFn,
    Published,
    Publisher,
    Writer,
)
from autopilot.runtime import job_kinds
from autopilot.settings import Settings

SECRET_KEY = "pipeline-tests-secret-key-0123456789"
"""The AUTOPILOT_SECRET_KEY the tests seal publisher secrets with."""

AUTOPILOT = Path(sys.executable).with_name("autopilot")
"""The ``autopilot`` command installed beside the interpreter running the tests."""


def make_settings(root: Path, **overrides: Any) -> Settings:
    """Settings for one test: its own data directory, no waiting between retries."""
    values: dict[str, Any] = {
        "data_dir": root / "data",
        "secret_key": SECRET_KEY,
        "allow_private_targets": True,
        "retry_base_seconds": 0.0,
        "retry_max_seconds": 0.0,
        "heartbeat_seconds": 0.2,
        "lease_seconds": 10.0,
        "reap_interval_seconds": 0.5,
        "poll_seconds": 0.05,
        "shutdown_grace_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def new_project(
    db: Database,
    settings: Settings,
    planned: Sequence[tuple[str, int]] = (),
    update: projects.ProjectUpdate | None = None,
) -> int:
    """Create a client and a project with a content plan; return the project id."""
    name = f"site-{secrets.token_hex(4)}"
    with db.session() as session:
        client = projects.add_client(session, f"client-{name}")
        project = Project(
            id=random.randint(100_000, 999_999_999),
            client_id=client.id,
            name=name,
            slug=name,
            writer="offline",
            publisher="folder",
            categories=[],
            tags=[],
            writer_settings={},
            publisher_settings={},
            secrets={},
        )
        session.add(project)
        session.flush()
        if update is not None:
            projects.apply_update(session, project, update, settings)
        items = [keywords.PlannedKeyword(k, p) for k, p in planned]
        keywords.add_keywords(session, project.id, items)
        return project.id


def start_run(db: Database, settings: Settings, project_id: int) -> int:
    """Press "Run now" for a project; return the job id."""
    return request_run(db, settings, project_id).job.id


def worker_config(settings: Settings, **changes: Any) -> WorkerConfig:
    """A worker configuration with the test's short intervals."""
    values: dict[str, Any] = {
        "heartbeat_seconds": settings.heartbeat_seconds,
        "lease_seconds": settings.lease_seconds,
        "reap_interval_seconds": settings.reap_interval_seconds,
        "poll_seconds": settings.poll_seconds,
        "shutdown_grace_seconds": settings.shutdown_grace_seconds,
        "retry": RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
    }
    values.update(changes)
    return WorkerConfig(**values)


@contextmanager
def running_worker(db: Database, settings: Settings) -> Iterator[Worker]:
    """A real worker with the installation's job kinds, on a thread."""
    worker = Worker(db, job_kinds(settings), worker_config(settings))
    thread = threading.Thread(target=worker.run, name="pipeline-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        if db.is_postgres:
            # Its LISTEN connection waits up to a second for a notification
            # before it looks at the stop; one notification ends that wait.
            with db.write() as conn:
                conn.execute(sa.select(sa.func.pg_notify(JOBS_CHANNEL, "")))
        thread.join(timeout=15)
        assert not thread.is_alive(), "the worker did not stop"


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_finished(db: Database, job_id: int, *, timeout: float = 20.0) -> JobRecord:
    """Wait until a job is completed, failed or cancelled; return it."""

    def finished() -> JobRecord | None:
        job = control.get_job(db, job_id)
        return job if job.is_finished else None

    found: JobRecord = wait_for(
        finished, timeout=timeout, what=f"job {job_id} to finish"
    )
    return found


def run_to_end(db: Database, settings: Settings, project_id: int) -> JobRecord:
    """Start a project's run and wait until a running worker has finished it."""
    return wait_finished(db, start_run(db, settings, project_id))


def articles_of(db: Database, project_id: int) -> list[dict[str, Any]]:
    """The project's article rows, oldest first."""
    table: sa.Table = Article.__table__  # type: ignore[assignment]
    query = (
        sa.select(table).where(table.c.project_id == project_id).order_by(table.c.id)
    )
    with db.read() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def keyword_states(db: Database, project_id: int) -> dict[str, str]:
    """Each keyword of the project's plan with its state."""
    with db.session() as session:
        rows = session.scalars(
            sa.select(Keyword).where(Keyword.project_id == project_id)
        )
        return {row.keyword: row.state for row in rows}


def events_of(db: Database, job_id: int) -> list[EventRecord]:
    return control.job_events(db, job_id)


def shown_path(events: list[EventRecord]) -> list[str]:
    """The statuses a job went through, as the portal shows them, without repeats."""
    path: list[str] = []
    for event in events:
        if not path or path[-1] != event.to_status:
            path.append(event.to_status)
    return path


def file_of(url: str) -> Path:
    """The local path a ``file://`` URL names."""
    parts = urlsplit(url)
    assert parts.scheme == "file", url
    return Path(url2pathname(parts.path))


def cli_env(**values: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no AUTOPILOT_* from outside, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOPILOT_")}
    env.update(values)
    return env


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``autopilot`` command and capture what it printed."""
    return subprocess.run(
        [str(AUTOPILOT), *args],
        cwd=cwd,
        env=dict(env) if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class CountingWriter:
    """Wraps a real writer and records every brief it is asked to write."""

    def __init__(self, inner: Writer, calls: list[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = calls

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft:
        self.calls.append(brief.keyword)
        return self.inner.write(brief, progress)


class FixedWriter:
    """Returns the same draft for every brief: for bodies a test must control."""

    name = "fixed"

    def __init__(self, draft: Draft) -> None:
        self.draft = draft

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft:
        progress(100, "written")
        return self.draft


class FailingFirstPublisher:
    """Wraps a real publisher; its first call in the test raises ``error``."""

    def __init__(self, inner: Publisher, calls: list[str], error: Exception) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = calls
        self.error = error

    def publish(self, article: ArticleToPublish) -> Published:
        self.calls.append(article.idempotency_key)
        if len(self.calls) == 1:
            raise self.error
        return self.inner.publish(article)
