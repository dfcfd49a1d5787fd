"""What people may do to jobs: look, cancel, retry, delete.

Clients never set a status; these are the only transitions they can ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.errors import Conflict, InvalidInput, NotFound
from autopilot.jobs.queue import ActiveJobConflict, enqueue
from autopilot.jobs.records import (
    EventRecord,
    JobRecord,
    events_table,
    jobs_table,
    record_events,
)
from autopilot.models import ACTIVE_STATUSES, FINISHED_STATUSES

jobs = jobs_table
ENGINE_STATUSES = ("pending", "running", *FINISHED_STATUSES)


def get_job(db: Database, job_id: int) -> JobRecord:
    with db.read() as conn:
        row = (
            conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        )
    if row is None:
        raise NotFound(f"There is no job {job_id}.")
    return JobRecord.from_row(row)


def list_jobs(
    db: Database,
    *,
    project_ids: Sequence[int] | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[JobRecord]:
    """Jobs newest first; ``status`` is an engine status or a running stage."""
    query = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if project_ids is not None:
        query = query.where(jobs.c.project_id.in_(list(project_ids)))
    if status is not None:
        if status in ENGINE_STATUSES:
            query = query.where(jobs.c.status == status)
        else:
            query = query.where(jobs.c.status == "running", jobs.c.stage == status)
    if before_id is not None:
        query = query.where(jobs.c.id < before_id)
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [JobRecord.from_row(row) for row in rows]


def active_job(db: Database, project_id: int) -> JobRecord | None:
    """The project's pending or running job, if it has one."""
    with db.read() as conn:
        row = (
            conn.execute(
                sa.select(jobs).where(
                    jobs.c.project_id == project_id,
                    jobs.c.status.in_(ACTIVE_STATUSES),
                )
            )
            .mappings()
            .first()
        )
    return JobRecord.from_row(row) if row else None


def job_events(db: Database, job_id: int) -> list[EventRecord]:
    """A job's history, oldest first."""
    query = (
        sa.select(events_table)
        .where(events_table.c.job_id == job_id)
        .order_by(events_table.c.id)
    )
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [EventRecord.from_row(row) for row in rows]


def events_after(
    db: Database,
    after_id: int,
    *,
    project_ids: Sequence[int] | None = None,
    limit: int = 500,
) -> list[EventRecord]:
    """Events with an id above ``after_id``, oldest first."""
    query = (
        sa.select(events_table)
        .where(events_table.c.id > after_id)
        .order_by(events_table.c.id)
        .limit(limit)
    )
    if project_ids is not None:
        query = query.where(events_table.c.project_id.in_(list(project_ids)))
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [EventRecord.from_row(row) for row in rows]


def last_event_id(db: Database) -> int:
    with db.read() as conn:
        value = conn.execute(sa.select(sa.func.max(events_table.c.id))).scalar()
    return int(value or 0)


def cancel(db: Database, job_id: int, *, by: str = "request") -> JobRecord:
    """Cancel a job: a pending one at once, a running one at its next heartbeat."""
    with db.write() as conn:
        # Locked, so a claim or a reap cannot change the status read here
        # before the update below, which is conditional on it.
        locked = sa.select(jobs).where(jobs.c.id == job_id).with_for_update()
        row = conn.execute(locked).mappings().first()
        if row is None:
            raise NotFound(f"There is no job {job_id}.")
        job = JobRecord.from_row(row)
        if job.is_finished:
            raise Conflict(
                f"Job {job_id} is already {job.status}; only a pending or running "
                "job can be cancelled."
            )
        values: dict[str, Any]
        if job.status == "pending":
            values = {
                "status": "cancelled",
                "finished_at": db.now(),
                "error_code": "cancelled",
                "error_message": f"Cancelled on {by} before it started.",
            }
            event, to_status = "cancelled", "cancelled"
        else:
            values = {"cancel_requested": True}
            event, to_status = "cancel_requested", job.shown_status
        updated = (
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == job.status)
                .values(values)
                .returning(*jobs.c)
            )
            .mappings()
            .one()
        )
        record_events(
            db,
            conn,
            [
                {
                    "job_id": job_id,
                    "project_id": job.project_id,
                    "event": event,
                    "from_status": job.shown_status,
                    "to_status": to_status,
                    "attempt": job.attempt,
                    "code": "cancelled",
                    "reason": values.get(
                        "error_message",
                        f"Cancel requested on {by}; the worker stops the run "
                        "at its next heartbeat.",
                    ),
                }
            ],
        )
    return JobRecord.from_row(updated)


def retry(db: Database, job_id: int, *, max_attempts: int) -> JobRecord:
    """Run a failed or cancelled job again, as a new job with the same work."""
    job = get_job(db, job_id)
    if job.status not in ("failed", "cancelled"):
        raise Conflict(
            f"Job {job_id} is {job.shown_status}; only a failed or cancelled job "
            "can be retried."
        )
    payload = {**job.payload, "retry_of": job.id}
    outcome = enqueue(
        db,
        job.kind,
        project_id=job.project_id,
        payload=payload,
        max_attempts=max_attempts,
    )
    if not outcome.created:
        raise ActiveJobConflict(outcome.job)
    return outcome.job


def delete(db: Database, job_id: int) -> None:
    """Delete a finished job; its events stay in the log."""
    with db.write() as conn:
        row = (
            conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        )
        if row is None:
            raise NotFound(f"There is no job {job_id}.")
        job = JobRecord.from_row(row)
        if not job.is_finished:
            raise Conflict(
                f"Job {job_id} is {job.shown_status}; only a finished job can be "
                "deleted. Cancel it first."
            )
        conn.execute(sa.delete(jobs).where(jobs.c.id == job_id))
        record_events(
            db,
            conn,
            [
                {
                    "job_id": job_id,
                    "project_id": job.project_id,
                    "event": "deleted",
                    "from_status": job.status,
                    "to_status": "deleted",
                    "attempt": job.attempt,
                    "reason": "Deleted on request.",
                }
            ],
        )


def parse_status_filter(status: str | None, stages: Sequence[str]) -> str | None:
    """Check a status filter names an engine status or a known stage."""
    if status is None or status in ENGINE_STATUSES or status in stages:
        return status
    allowed = ", ".join([*ENGINE_STATUSES, *stages])
    raise InvalidInput(f"Unknown status {status!r}; use one of: {allowed}.")
