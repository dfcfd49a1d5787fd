"""The fenced writes of a running attempt: stage, progress, outcome, release.

Each write names the attempt (``id``, ``attempt``, ``stage``): once the reaper
or a cancel has moved the job on, the write matches no row, changes nothing,
and the caller learns that it lost the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from autopilot.db import Database
from autopilot.errors import JobError
from autopilot.jobs.records import (
    JobRecord,
    event_row,
    jobs_table,
    record_events,
    wake_workers,
)
from autopilot.jobs.retry import RetryPolicy

jobs = jobs_table


def _fenced(job_id: int, attempt: int, stage: str) -> tuple[Any, ...]:
    return (
        jobs.c.id == job_id,
        jobs.c.attempt == attempt,
        jobs.c.status == "running",
        jobs.c.stage == stage,
    )


def _update_fenced(
    conn: Connection,
    job_id: int,
    attempt: int,
    stage: str,
    values: Mapping[str, Any],
) -> JobRecord | None:
    row = (
        conn.execute(
            sa.update(jobs)
            .where(*_fenced(job_id, attempt, stage))
            .values(dict(values))
            .returning(*jobs.c)
        )
        .mappings()
        .first()
    )
    return JobRecord.from_row(row) if row else None


def _cancel_requested(conn: Connection, job_id: int, attempt: int, stage: str) -> bool:
    """Whether a cancel of the running attempt was asked for; locks its row."""
    query = sa.select(jobs.c.cancel_requested).where(*_fenced(job_id, attempt, stage))
    return bool(conn.execute(query.with_for_update()).scalar())


def _transition(
    db: Database,
    job_id: int,
    attempt: int,
    stage: str,
    values: Mapping[str, Any],
    event: str,
    to_status: str,
    **extra: Any,
) -> bool:
    """One fenced write and its event, in a transaction of its own."""
    with db.write() as conn:
        job = _update_fenced(conn, job_id, attempt, stage, values)
        if job is None:
            return False
        record_events(db, conn, [event_row(job, event, stage, to_status, **extra)])
    return True


def advance_stage(
    db: Database,
    job_id: int,
    attempt: int,
    stage: str,
    target: str,
    *,
    timeout_seconds: float,
) -> bool:
    """Move a running attempt to its next stage, with that stage's deadline."""
    values = {
        "stage": target,
        "stage_started_at": db.now(),
        "stage_deadline_at": db.now(timeout_seconds),
        "progress": 0,
        "progress_message": None,
    }
    return _transition(db, job_id, attempt, stage, values, "stage", target)


def report_progress(
    db: Database, job_id: int, attempt: int, stage: str, percent: int, message: str
) -> bool:
    """Record how far a running attempt is within its stage."""
    percent = max(0, min(100, int(percent)))
    values = {"progress": percent, "progress_message": message[:300]}
    return _transition(
        db,
        job_id,
        attempt,
        stage,
        values,
        "progress",
        stage,
        reason=message,
        progress=percent,
    )


def complete(
    db: Database,
    job_id: int,
    attempt: int,
    stage: str,
    result: Mapping[str, Any] | None = None,
) -> bool:
    """Finish a running attempt successfully."""
    values = {
        "status": "completed",
        "result": dict(result) if result is not None else None,
        "finished_at": db.now(),
        "progress": 100,
        "lease_expires_at": None,
        "stage_deadline_at": None,
    }
    return _transition(db, job_id, attempt, stage, values, "completed", "completed")


@dataclass(frozen=True)
class Finished:
    """A running attempt whose work is done, and what it produced."""

    job_id: int
    attempt: int
    stage: str
    result: Mapping[str, Any] | None = None


def complete_many(db: Database, finished: Sequence[Finished]) -> set[int]:
    """Finish several running attempts in one transaction; return those finished.

    Each row is fenced by its own attempt and stage, as in :func:`complete`:
    an attempt that is no longer current is left alone and is missing from
    the answer. Attempts without a result share one statement.
    """
    if not finished:
        return set()
    done: dict[str, Any] = {
        "status": "completed",
        "finished_at": db.now(),
        "progress": 100,
        "lease_expires_at": None,
        "stage_deadline_at": None,
    }
    plain = [f for f in finished if f.result is None]
    returned = (jobs.c.id, jobs.c.project_id, jobs.c.attempt, jobs.c.stage)
    with db.write() as conn:
        rows: list[sa.Row[Any]] = []
        if plain:
            fence = sa.tuple_(jobs.c.id, jobs.c.attempt, jobs.c.stage).in_(
                [(f.job_id, f.attempt, f.stage) for f in plain]
            )
            statement = (
                sa.update(jobs)
                .where(
                    jobs.c.id.in_([f.job_id for f in plain]),
                    fence,
                    jobs.c.status == "running",
                )
                .values(result=None, **done)
                .returning(*returned)
            )
            rows += conn.execute(statement).all()
        for f in finished:
            if f.result is not None:
                statement = (
                    sa.update(jobs)
                    .where(*_fenced(f.job_id, f.attempt, f.stage))
                    .values(result=dict(f.result), **done)
                    .returning(*returned)
                )
                rows += conn.execute(statement).all()
        events = [
            {
                "job_id": row.id,
                "project_id": row.project_id,
                "event": "completed",
                "from_status": row.stage,
                "to_status": "completed",
                "attempt": row.attempt,
            }
            for row in rows
        ]
        record_events(db, conn, events)
    return {row.id for row in rows}


def end_attempt(
    db: Database,
    conn: Connection,
    job_id: int,
    attempt: int,
    stage: str,
    error: JobError,
    policy: RetryPolicy,
) -> JobRecord | None:
    """End a running attempt in failure: back to pending if it may retry.

    The job retries when the error is retryable and attempts remain; the
    event's reason says when. Returns None when the attempt was not current.
    An attempt whose cancel was requested ends cancelled: never run again.
    """
    if _cancel_requested(conn, job_id, attempt, stage):
        reason = f"Cancelled on request. {error.message}"
        return finish_cancel(db, conn, job_id, attempt, stage, reason)

    retry_possible = error.retryable
    base: dict[str, Any] = {
        "error_code": error.code,
        "error_message": error.message,
        "lease_expires_at": None,
        "stage_deadline_at": None,
        "cancel_requested": False,
    }
    if retry_possible:
        delay = policy.delay(attempt, error.retry_after)
        retries_left = jobs.c.attempt < jobs.c.max_attempts
        base |= {
            "status": sa.case((retries_left, "pending"), else_="failed"),
            "run_at": sa.case((retries_left, db.now(delay)), else_=jobs.c.run_at),
            "finished_at": sa.case((retries_left, None), else_=db.now()),
            "worker_id": sa.case((retries_left, None), else_=jobs.c.worker_id),
        }
    else:
        base |= {"status": "failed", "finished_at": db.now()}

    job = _update_fenced(conn, job_id, attempt, stage, base)
    if job is None:
        return None
    if job.status == "pending":
        reason = (
            f"{error.message} Retry {job.attempt + 1} of {job.max_attempts} "
            f"at {job.run_at:%H:%M:%S} UTC."
        )
        event = event_row(job, "retry_scheduled", stage, "pending", code=error.code)
    else:
        suffix = " No attempts left." if retry_possible else ""
        reason = f"{error.message}{suffix}"
        event = event_row(job, "failed", stage, "failed", code=error.code)
    record_events(db, conn, [{**event, "reason": reason}])
    return job


def fail(
    db: Database,
    job_id: int,
    attempt: int,
    stage: str,
    error: JobError,
    policy: RetryPolicy,
) -> JobRecord | None:
    """End a running attempt in failure in a transaction of its own."""
    with db.write() as conn:
        job = end_attempt(db, conn, job_id, attempt, stage, error, policy)
        if job is not None and job.status == "pending":
            wake_workers(db, conn)
        return job


def finish_cancel(
    db: Database, conn: Connection, job_id: int, attempt: int, stage: str, reason: str
) -> JobRecord | None:
    """Mark a running attempt whose cancel was requested as cancelled."""
    job = _update_fenced(
        conn,
        job_id,
        attempt,
        stage,
        {
            "status": "cancelled",
            "finished_at": db.now(),
            "error_code": "cancelled",
            "error_message": reason,
            "lease_expires_at": None,
            "stage_deadline_at": None,
        },
    )
    if job is not None:
        event = event_row(job, "cancelled", stage, "cancelled", code="cancelled")
        record_events(db, conn, [{**event, "reason": reason}])
    return job


def acknowledge_cancel(db: Database, job_id: int, attempt: int, stage: str) -> bool:
    """The worker stopped an attempt whose cancel was requested."""
    with db.write() as conn:
        reason = "Cancelled on request; the run was stopped."
        return finish_cancel(db, conn, job_id, attempt, stage, reason) is not None


def release(
    db: Database, job_id: int, attempt: int, stage: str, worker_id: str
) -> bool:
    """Hand a running attempt back to the queue at once, as a stopping worker.

    The attempt does not count against the job's attempts; one whose cancel
    was requested ends cancelled instead.
    """
    with db.write() as conn:
        if _cancel_requested(conn, job_id, attempt, stage):
            reason = (
                f"Cancelled on request; worker {worker_id} shut down before the "
                f"{stage} stage ended."
            )
            return finish_cancel(db, conn, job_id, attempt, stage, reason) is not None
        job = _update_fenced(
            conn,
            job_id,
            attempt,
            stage,
            {
                "status": "pending",
                "run_at": db.now(),
                "max_attempts": jobs.c.max_attempts + 1,
                "worker_id": None,
                "lease_expires_at": None,
                "stage_deadline_at": None,
                "cancel_requested": False,
            },
        )
        if job is None:
            return False
        reason = (
            f"Worker {worker_id} shut down before the {stage} stage ended; the job "
            "is back in the queue and this attempt does not count."
        )
        event = event_row(job, "released", stage, "pending", code="worker_shutdown")
        record_events(db, conn, [{**event, "reason": reason}])
        wake_workers(db, conn)
    return True


def fenced_guard(conn: Connection, job_id: int, attempt: int, stage: str) -> bool:
    """Lock a running attempt's row inside the caller's transaction.

    Lets a job kind make its own checkpoint writes conditional on still
    holding the job: if this returns False, the caller must roll back.
    """
    statement = (
        sa.update(jobs)
        .where(*_fenced(job_id, attempt, stage))
        .values(progress=jobs.c.progress)
    )
    return conn.execute(statement).rowcount == 1
