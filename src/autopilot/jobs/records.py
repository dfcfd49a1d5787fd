"""Jobs and events as plain records, and the one helper that logs transitions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from autopilot.db import Database, after_commit
from autopilot.jobs import signals
from autopilot.models import ACTIVE_STATUSES, FINISHED_STATUSES, Job, JobEvent

jobs_table: sa.Table = Job.__table__  # type: ignore[assignment]
events_table: sa.Table = JobEvent.__table__  # type: ignore[assignment]

EVENTS_CHANNEL = "autopilot_events"
JOBS_CHANNEL = "autopilot_jobs"


@dataclass(frozen=True)
class JobRecord:
    """A job as stored, with the status a person is shown."""

    id: int
    kind: str
    project_id: int | None
    status: str
    stage: str | None
    payload: dict[str, Any]
    result: dict[str, Any] | None
    run_at: datetime
    attempt: int
    max_attempts: int
    worker_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    lease_expires_at: datetime | None
    stage_started_at: datetime | None
    stage_deadline_at: datetime | None
    progress: int
    progress_message: str | None
    cancel_requested: bool
    error_code: str | None
    error_message: str | None
    dedupe_key: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def shown_status(self) -> str:
        """The status people see: a running job shows its stage."""
        if self.status == "running" and self.stage:
            return self.stage
        return self.status

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def public_fields(self) -> dict[str, Any]:
        """What the API and ``--json`` show of a job, in camelCase."""
        return {
            "id": self.id,
            "projectId": self.project_id,
            "kind": self.kind,
            "status": self.shown_status,
            "stage": self.stage,
            "progress": self.progress,
            "progressMessage": self.progress_message,
            "attempt": self.attempt,
            "maxAttempts": self.max_attempts,
            "runAt": self.run_at,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "completedAt": self.finished_at,
            "error": self.error_message,
            "errorCode": self.error_code,
            "cancelRequested": self.cancel_requested,
        }

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class EventRecord:
    """One line of the job event log."""

    id: int
    job_id: int
    project_id: int | None
    event: str
    from_status: str | None
    to_status: str
    attempt: int
    code: str | None
    reason: str | None
    progress: int | None
    at: datetime

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def public_fields(self) -> dict[str, Any]:
        """What the API and ``--json`` show of an event, in camelCase."""
        return {
            "id": self.id,
            "jobId": self.job_id,
            "projectId": self.project_id,
            "event": self.event,
            "from": self.from_status,
            "to": self.to_status,
            "attempt": self.attempt,
            "code": self.code,
            "reason": self.reason,
            "progress": self.progress,
            "at": self.at,
        }


def shown(status: str, stage: str | None) -> str:
    """The status people see for an engine status and stage."""
    return stage if status == "running" and stage else status


def record_events(
    db: Database, conn: Connection, events: Sequence[Mapping[str, Any]]
) -> None:
    """Append transitions to the event log in the caller's transaction.

    Each mapping names ``job_id``, ``project_id``, ``event``, ``from_status``,
    ``to_status`` and ``attempt``; ``code``, ``reason`` and ``progress`` are
    optional. On PostgreSQL listeners are told once the transaction commits.
    """
    if not events:
        return
    rows = [
        {"code": None, "reason": None, "progress": None, **event} for event in events
    ]
    conn.execute(events_table.insert().values(at=db.now()), rows)
    after_commit(conn, signals.events_recorded.notify)
    if db.is_postgres:
        conn.execute(sa.select(sa.func.pg_notify(EVENTS_CHANNEL, "")))


def event_row(
    job: JobRecord,
    event: str,
    from_status: str | None,
    to_status: str,
    **extra: Any,
) -> dict[str, Any]:
    """An event-log row for a transition of ``job``, for :func:`record_events`."""
    return {
        "job_id": job.id,
        "project_id": job.project_id,
        "event": event,
        "from_status": from_status,
        "to_status": to_status,
        "attempt": job.attempt,
        **extra,
    }


def wake_workers(db: Database, conn: Connection) -> None:
    """Tell idle workers, here and on PostgreSQL, once this transaction commits."""
    after_commit(conn, signals.jobs_enqueued.notify)
    if db.is_postgres:
        conn.execute(sa.select(sa.func.pg_notify(JOBS_CHANNEL, "")))
