"""How jobs enter and are taken: enqueue, run now, claim, heartbeat.

What a running attempt then writes is in :mod:`autopilot.jobs.attempts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from autopilot.db import Database
from autopilot.errors import Conflict
from autopilot.jobs.kinds import JobKind
from autopilot.jobs.records import (
    JobRecord,
    event_row,
    jobs_table,
    record_events,
    wake_workers,
)
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
            record_events(db, conn, [event_row(job, "enqueued", None, "pending")])
            wake_workers(db, conn)
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
            event = event_row(moved, "run_now", "pending", "pending", reason=reason)
            record_events(db, conn, [event])
        wake_workers(db, conn)
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
                event_row(
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
