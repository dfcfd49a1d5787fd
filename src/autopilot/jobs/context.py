"""What a running job sees of the engine: its attempt, progress, stages, stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from autopilot.db import Database
from autopilot.jobs import attempts
from autopilot.jobs.kinds import JobKind
from autopilot.jobs.records import JobRecord


class JobStopped(Exception):
    """The attempt must stop: cancelled, lost to the reaper, or shutting down."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobContext:
    """The handle a job function gets for one attempt.

    Every write it makes is fenced by the attempt; when a write finds the job
    is no longer this attempt's, the context stops and raises
    :class:`JobStopped`, so a late worker unwinds instead of going on.
    """

    def __init__(self, db: Database, job: JobRecord, kind: JobKind) -> None:
        self.db = db
        self.job = job
        self.kind = kind
        self.stage = job.stage or kind.first_stage.name
        self._stop = threading.Event()
        self.stop_reason: str | None = None

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def attempt(self) -> int:
        return self.job.attempt

    @property
    def project_id(self) -> int | None:
        return self.job.project_id

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self, reason: str) -> None:
        """Ask the attempt to stop; the first reason given is kept."""
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    def check(self) -> None:
        """Raise :class:`JobStopped` if the attempt has been told to stop."""
        if self._stop.is_set():
            raise JobStopped(self.stop_reason or "stopped")

    def sleep(self, seconds: float) -> None:
        """Wait, waking at once if the attempt is told to stop."""
        self._stop.wait(seconds)
        self.check()

    def progress(self, percent: int, message: str) -> None:
        """Report progress within the current stage."""
        self.check()
        ok = attempts.report_progress(
            self.db, self.id, self.attempt, self.stage, percent, message
        )
        self._require(ok)

    def advance(self, stage: str) -> None:
        """Enter the next stage; its deadline starts now."""
        self.check()
        timeout = self.kind.stage(stage).timeout_seconds
        ok = attempts.advance_stage(
            self.db, self.id, self.attempt, self.stage, stage, timeout_seconds=timeout
        )
        self._require(ok)
        self.stage = stage

    @contextmanager
    def checkpoint(self) -> Iterator[Connection]:
        """A write transaction that commits only while this attempt holds the job."""
        self.check()
        with self.db.write() as conn:
            self._require(
                attempts.fenced_guard(conn, self.id, self.attempt, self.stage)
            )
            yield conn

    def _require(self, still_ours: bool) -> None:
        if not still_ours:
            self.stop("lease_lost")
            self.check()
