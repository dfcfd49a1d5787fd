"""Every statement the engine makes about a job's life: enqueue, claim,
heartbeat, and the fenced writes of a running attempt.

A write on behalf of an attempt names it (``id``, ``attempt``, ``stage``): once
the reaper or a cancel has moved the job on, the write matches no row,
changes nothing, and the caller learns that it lost the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from autopilot.db import Database, after_commit
from autopilot.errors import Conflict, JobError
from autopilot.jobs import signals
from autopilot.jobs.kinds import JobKind
from autopilot.jobs.records import (
    JOBS_CHANNEL,
    JobRecord,
    jobs_table,
    record_events,
)
from autopilot.jobs.retry import RetryPolicy
from autopilot.models import ACTIVE_STATUSES, Worker

workers_table: sa.Table = Worker.__table__  # type: ignore[assignment]

jobs = jobs_table


class ActiveJobConflict(Conflict):
    """The project already has a run in progress."""

    code = "job_active"

    def __init__(self, job: JobRecord) -> None:
        since = job.started_at or job.created_at
        super().__init__(
            f"Job {job.id} of this project is already {job.shown_status} "
            f"(since {since:%H:%M:%S} UTC). Wait for it to finish or cancel it."
        )
        self.job = job


@dataclass(frozen=True)
class Enqueued:
    """The outcome of an enqueue: the job, and whether this call created it."""

    job: JobRecord
    created: bool


def _fetch(conn: Connection, *where: sa.ColumnElement[bool]) -> JobRecord | None:
    # Locked, so a claim cannot start the job between this read and run_now's
    # update of it; PostgreSQL then reads the row as it is after any such claim.
    query = sa.select(jobs).where(*where).with_for_update()
    row = conn.execute(query).mappings().first()
    return JobRecord.from_row(row) if row else None


def _wake_workers(db: Database, conn: Connection) -> None:
    after_commit(conn, signals.jobs_enqueued.notify)
    if db.is_postgres:
        conn.execute(sa.select(sa.func.pg_notify(JOBS_CHANNEL, "")))


def _insert(db: Database) -> Any:
    return (postgresql if db.is_postgres else sqlite).insert(jobs)


def enqueue(
    db: Database,
    kind: str,
    *,
    project_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    delay_seconds: float = 0.0,
    max_attempts: int = 3,
    dedupe_key: str | None = None,
) -> Enqueued:
    """Add a job, or return the one that already holds its place.

    A project has at most one active job (a partial unique index says so),
    and a ``dedupe_key`` is used once; in either case the existing job comes
    back with ``created=False``.
    """
    with db.write() as conn:
        return _enqueue(
            db, conn, kind, project_id, payload, delay_seconds, max_attempts, dedupe_key
        )


def _enqueue(
    db: Database,
    conn: Connection,
    kind: str,
    project_id: int | None,
    payload: Mapping[str, Any] | None,
    delay_seconds: float,
    max_attempts: int,
    dedupe_key: str | None,
) -> Enqueued:
    for _ in range(10):
        statement = (
            _insert(db)
            .values(
                kind=kind,
                project_id=project_id,
                status="pending",
                payload=dict(payload or {}),
                run_at=db.now(delay_seconds),
                attempt=0,
                max_attempts=max_attempts,
                progress=0,
                cancel_requested=False,
                dedupe_key=dedupe_key,
                created_at=db.now(),
            )
            .on_conflict_do_nothing()
            .returning(*jobs.c)
        )
        row = conn.execute(statement).mappings().first()
        if row is not None:
            job = JobRecord.from_row(row)
            record_events(db, conn, [_event(job, "enqueued", None, "pending")])
            _wake_workers(db, conn)
            return Enqueued(job, created=True)

        existing = _holder_of_place(conn, project_id, dedupe_key)
        if existing is not None:
            return Enqueued(existing, created=False)
        # The job in the way finished in between; its place is free again.
    raise Conflict("Could not enqueue the job: its place kept changing. Try again.")


def _holder_of_place(
    conn: Connection, project_id: int | None, dedupe_key: str | None
) -> JobRecord | None:
    if dedupe_key is not None:
        job = _fetch(conn, jobs.c.dedupe_key == dedupe_key)
        if job is not None:
            return job
    if project_id is not None:
        return _fetch(
            conn,
            jobs.c.project_id == project_id,
            jobs.c.status.in_(ACTIVE_STATUSES),
        )
    return None


def run_now(
    db: Database,
    kind: str,
    project_id: int,
    *,
    payload: Mapping[str, Any] | None = None,
    max_attempts: int = 3,
) -> Enqueued:
    """Start a project's run now: create it, or move its pending job to now.

    Raises :class:`ActiveJobConflict` when the project's job is running.
    """
    with db.write() as conn:
        outcome = _enqueue(db, conn, kind, project_id, payload, 0.0, max_attempts, None)
        job = outcome.job
        if outcome.created:
            return outcome
        if job.status == "running":
            raise ActiveJobConflict(job)

        earliest = sa.func.least if db.is_postgres else sa.func.min
        row = (
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id == job.id, jobs.c.status == "pending")
                .values(run_at=earliest(jobs.c.run_at, db.now()))
                .returning(*jobs.c)
            )
            .mappings()
            .one()
        )
        moved = JobRecord.from_row(row)
        if moved.run_at < job.run_at:
            reason = "Started now on request instead of at its scheduled time."
            event = _event(moved, "run_now", "pending", "pending", reason=reason)
            record_events(db, conn, [event])
        _wake_workers(db, conn)
        return Enqueued(moved, created=False)


def claim(
    db: Database,
    worker_id: str,
    kinds: Sequence[JobKind],
    *,
    limit: int,
    lease_seconds: float,
    only_job_id: int | None = None,
) -> list[JobRecord]:
    """Take up to ``limit`` due jobs for this worker, atomically.

    Each claimed job starts a new attempt in its kind's first stage, with a
    lease measured on the database clock. PostgreSQL skips rows another
    worker is claiming; SQLite serialises claims in one immediate write.
    """
    if limit <= 0 or not kinds:
        return []
    by_kind = {kind.name: kind for kind in kinds}
    # The claim walks the due index and stops after ``limit`` rows, however
    # long the queue: "now" is read once, so it bounds the index scan, and
    # the order is the index's own. PostgreSQL's index order ties are jobs due
    # in the same microsecond; SQLite's index ends in the id.
    now = sa.select(db.now()).scalar_subquery()
    order = (jobs.c.run_at,) if db.is_postgres else (jobs.c.run_at, jobs.c.id)
    due = (
        sa.select(jobs.c.id)
        .where(
            jobs.c.status == "pending",
            jobs.c.run_at <= now,
            jobs.c.kind.in_(list(by_kind)),
        )
        .order_by(*order)
        .limit(limit)
    )
    if only_job_id is not None:
        due = due.where(jobs.c.id == only_job_id)
    values = {
        "status": "running",
        "attempt": jobs.c.attempt + 1,
        "worker_id": worker_id,
        "started_at": db.now(),
        "heartbeat_at": db.now(),
        "lease_expires_at": db.now(lease_seconds),
        "stage": sa.case(
            {name: kind.first_stage.name for name, kind in by_kind.items()},
            value=jobs.c.kind,
        ),
        "stage_started_at": db.now(),
        "stage_deadline_at": sa.case(
            *(
                (jobs.c.kind == name, db.now(kind.first_stage.timeout_seconds))
                for name, kind in by_kind.items()
            ),
        ),
        "progress": 0,
        "progress_message": None,
        "error_code": None,
        "error_message": None,
    }
    if db.is_postgres:
        chosen = due.with_for_update(skip_locked=True).cte("due")
        statement = sa.update(jobs).where(jobs.c.id == chosen.c.id)
    else:
        statement = sa.update(jobs).where(jobs.c.id.in_(due.scalar_subquery()))

    with db.write() as conn:
        rows = conn.execute(statement.values(values).returning(*jobs.c)).mappings()
        claimed = [JobRecord.from_row(row) for row in rows]
        record_events(
            db,
            conn,
            [
                _event(
                    job,
                    "claimed",
                    "pending",
                    job.shown_status,
                    reason=f"Attempt {job.attempt} of {job.max_attempts} "
                    f"started by worker {worker_id}.",
                )
                for job in claimed
            ],
        )
    return claimed


@dataclass(frozen=True)
class LeaseState:
    """What a heartbeat learned about one of the worker's jobs."""

    attempt: int
    cancel_requested: bool


def heartbeat(
    db: Database, worker_id: str, lease_seconds: float
) -> dict[int, LeaseState]:
    """Renew the leases of all of a worker's running jobs in one statement.

    Returns the jobs the worker still holds; a job it thinks it runs but that
    is missing here (or under another attempt) is no longer its own.
    """
    with db.write() as conn:
        rows = conn.execute(
            sa.update(jobs)
            .where(jobs.c.worker_id == worker_id, jobs.c.status == "running")
            .values(heartbeat_at=db.now(), lease_expires_at=db.now(lease_seconds))
            .returning(jobs.c.id, jobs.c.attempt, jobs.c.cancel_requested)
        )
        held = {row.id: LeaseState(row.attempt, row.cancel_requested) for row in rows}
        # A beat undoes a wrong verdict of death from another process, but
        # never the worker's own record that it shut down.
        conn.execute(
            sa.update(workers_table)
            .where(
                workers_table.c.id == worker_id,
                sa.or_(
                    workers_table.c.stopped_at.is_(None),
                    workers_table.c.stop_reason.startswith("dead: "),
                ),
            )
            .values(heartbeat_at=db.now(), stopped_at=None, stop_reason=None)
        )
    return held


def _fenced(job_id: int, attempt: int, stage: str) -> tuple[Any, ...]:
    return (
        jobs.c.id == job_id,
        jobs.c.attempt == attempt,
        jobs.c.status == "running",
        jobs.c.stage == stage,
    )


def _event(
    job: JobRecord,
    event: str,
    from_status: str | None,
    to_status: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "project_id": job.project_id,
        "event": event,
        "from_status": from_status,
        "to_status": to_status,
        "attempt": job.attempt,
        **extra,
    }


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
    with db.write() as conn:
        job = _update_fenced(
            conn,
            job_id,
            attempt,
            stage,
            {
                "stage": target,
                "stage_started_at": db.now(),
                "stage_deadline_at": db.now(timeout_seconds),
                "progress": 0,
                "progress_message": None,
            },
        )
        if job is None:
            return False
        record_events(db, conn, [_event(job, "stage", stage, target)])
    return True


def report_progress(
    db: Database, job_id: int, attempt: int, stage: str, percent: int, message: str
) -> bool:
    """Record how far a running attempt is within its stage."""
    percent = max(0, min(100, int(percent)))
    with db.write() as conn:
        job = _update_fenced(
            conn,
            job_id,
            attempt,
            stage,
            {"progress": percent, "progress_message": message[:300]},
        )
        if job is None:
            return False
        event = _event(job, "progress", stage, stage, reason=message, progress=percent)
        record_events(db, conn, [event])
    return True


def complete(
    db: Database,
    job_id: int,
    attempt: int,
    stage: str,
    result: Mapping[str, Any] | None = None,
) -> bool:
    """Finish a running attempt successfully."""
    with db.write() as conn:
        job = _update_fenced(
            conn,
            job_id,
            attempt,
            stage,
            {
                "status": "completed",
                "result": dict(result) if result is not None else None,
                "finished_at": db.now(),
                "progress": 100,
                "lease_expires_at": None,
                "stage_deadline_at": None,
            },
        )
        if job is None:
            return False
        record_events(db, conn, [_event(job, "completed", stage, "completed")])
    return True


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
        event = _event(job, "retry_scheduled", stage, "pending", code=error.code)
    else:
        suffix = " No attempts left." if retry_possible else ""
        reason = f"{error.message}{suffix}"
        event = _event(job, "failed", stage, "failed", code=error.code)
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
            _wake_workers(db, conn)
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
        event = _event(job, "cancelled", stage, "cancelled", code="cancelled")
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
        event = _event(job, "released", stage, "pending", code="worker_shutdown")
        record_events(db, conn, [{**event, "reason": reason}])
        _wake_workers(db, conn)
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
