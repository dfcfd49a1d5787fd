"""Shared helpers for the engine tests: projects, test job kinds, polling.

Every helper takes the test's own :class:`Database`, so each test owns its data.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from autopilot.db import Database
from autopilot.jobs import control
from autopilot.jobs.context import JobContext
from autopilot.jobs.kinds import JobKind, KindRegistry, Stage
from autopilot.jobs.records import JobRecord, events_table, jobs_table
from autopilot.jobs.worker import Worker, WorkerConfig
from autopilot.models import Client, Project

LEASE = 30.0
"""The lease the tests claim with when they drive the queue by hand."""


def new_project(db: Database, name: str | None = None) -> int:
    """Create a client and one project of it; return the project's id."""
    name = name or f"site-{secrets.token_hex(4)}"
    with db.session() as session:
        client = Client(name=f"client-{name}")
        session.add(client)
        session.flush()
        project = Project(client_id=client.id, name=name, slug=name)
        session.add(project)
        session.flush()
        return project.id


def job_row(db: Database, job_id: int) -> JobRecord:
    """The job as stored now."""
    return control.get_job(db, job_id)


def count_jobs(db: Database, **where: Any) -> int:
    """How many rows the jobs table holds, optionally filtered by column."""
    query = sa.select(sa.func.count()).select_from(jobs_table)
    for column, value in where.items():
        query = query.where(jobs_table.c[column] == value)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def count_events(db: Database, job_id: int | None = None) -> int:
    """How many events the log holds, for one job or all."""
    query = sa.select(sa.func.count()).select_from(events_table)
    if job_id is not None:
        query = query.where(events_table.c.job_id == job_id)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def event_names(db: Database, job_id: int) -> list[str]:
    """A job's events by name, oldest first."""
    return [event.event for event in control.job_events(db, job_id)]


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def wait_status(
    db: Database, job_id: int, *statuses: str, timeout: float = 15.0
) -> JobRecord:
    """Wait until the job's engine status is one of ``statuses``."""

    def reached() -> JobRecord | None:
        job = job_row(db, job_id)
        return job if job.status in statuses else None

    found: JobRecord = wait_for(
        reached, timeout=timeout, what=f"job {job_id} to become {statuses}"
    )
    return found


def _finish_at_once(ctx: JobContext) -> dict[str, Any]:
    return {"ok": True}


TWO_STAGE = JobKind(
    "two_stage", _finish_at_once, (Stage("stage_a", 60), Stage("stage_b", 30))
)
"""A kind with two stages (60 s and 30 s), for driving the queue by hand."""


class Recorder:
    """Collects the contexts a test job kind was run with."""

    def __init__(self) -> None:
        self.contexts: list[JobContext] = []
        self._lock = threading.Lock()

    def add(self, ctx: JobContext) -> None:
        with self._lock:
            self.contexts.append(ctx)

    def context(self, job_id: int) -> JobContext:
        with self._lock:
            return next(ctx for ctx in self.contexts if ctx.id == job_id)

    def has(self, job_id: int) -> bool:
        with self._lock:
            return any(ctx.id == job_id for ctx in self.contexts)


@contextmanager
def running_worker(
    db: Database, kinds: list[JobKind], **config: Any
) -> Iterator[Worker]:
    """A real :class:`Worker` on a thread, stopped and joined on exit."""
    settings: dict[str, Any] = {
        "heartbeat_seconds": 0.1,
        "lease_seconds": 5.0,
        "reap_interval_seconds": 0.2,
        "poll_seconds": 0.05,
        "shutdown_grace_seconds": 0.5,
    }
    settings.update(config)
    worker = Worker(db, KindRegistry(kinds), WorkerConfig(**settings))
    thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the worker did not stop"


@contextmanager
def row_held(db: Database, job_id: int) -> Iterator[Connection]:
    """A write transaction holding the job's row, as a claiming worker does.

    PostgreSQL locks the one row; SQLite's write lock holds the whole database.
    """
    with db.write() as conn:
        held = sa.select(jobs_table.c.id).where(jobs_table.c.id == job_id)
        conn.execute(held.with_for_update())
        yield conn


def claim_in(conn: Connection, db: Database, job_id: int, worker_id: str) -> None:
    """Start attempt 1 of a pending job inside the caller's transaction."""
    conn.execute(
        sa.update(jobs_table)
        .where(jobs_table.c.id == job_id, jobs_table.c.status == "pending")
        .values(
            status="running",
            attempt=jobs_table.c.attempt + 1,
            worker_id=worker_id,
            stage=TWO_STAGE.first_stage.name,
            started_at=db.now(),
            heartbeat_at=db.now(),
            lease_expires_at=db.now(LEASE),
            stage_started_at=db.now(),
            stage_deadline_at=db.now(TWO_STAGE.first_stage.timeout_seconds),
        )
    )


class Background:
    """Run one call on a thread and keep its result or exception."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 30.0) -> Any:
        """Wait for the call; re-raise what it raised, else return its result."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the background call did not finish"
        if self.error is not None:
            raise self.error
        return self.result
