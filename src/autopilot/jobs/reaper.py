"""Recovery: end the attempts of lost workers and of stages past their deadline.

Every worker runs :func:`reap` on an interval and every API read of a
project's jobs runs it first. Each recovery is a fenced, conditional update,
so many reapers at once recover each attempt exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.errors import JobError
from autopilot.jobs import liveness
from autopilot.jobs.attempts import end_attempt, finish_cancel
from autopilot.jobs.records import jobs_table as jobs
from autopilot.jobs.retry import RetryPolicy

workers = liveness.workers_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    """One attempt the reaper ended, and what became of its job."""

    job_id: int
    project_id: int | None
    attempt: int
    code: str
    from_status: str
    to_status: str
    reason: str


def reap(
    db: Database,
    policy: RetryPolicy,
    *,
    lease_seconds: float,
    project_id: int | None = None,
) -> list[Recovery]:
    """Recover every running job whose worker is gone or whose stage overran."""
    liveness.find_dead(db, lease_seconds)
    return _reap(db, policy, project_id=project_id, overdue=True)


def reap_lost_workers(db: Database, policy: RetryPolicy) -> list[Recovery]:
    """Recover only the running jobs of workers already known to be gone."""
    return _reap(db, policy, project_id=None, overdue=False)


def _reap(
    db: Database, policy: RetryPolicy, *, project_id: int | None, overdue: bool
) -> list[Recovery]:
    now = db.now()
    worker_gone = workers.c.stopped_at.is_not(None)
    query = (
        sa.select(
            jobs,
            workers.c.stop_reason.label("worker_stop_reason"),
            worker_gone.label("worker_gone"),
            (jobs.c.lease_expires_at < now).label("lease_expired"),
            now.label("now"),
        )
        .select_from(jobs.outerjoin(workers, workers.c.id == jobs.c.worker_id))
        .where(
            jobs.c.status == "running",
            sa.or_(
                worker_gone,
                jobs.c.lease_expires_at < now if overdue else sa.false(),
                jobs.c.stage_deadline_at < now if overdue else sa.false(),
            ),
        )
    )
    if project_id is not None:
        query = query.where(jobs.c.project_id == project_id)
    with db.read() as conn:
        candidates = conn.execute(query).mappings().all()

    recoveries = []
    for row in candidates:
        recovery = _recover(db, policy, row)
        if recovery is not None:
            recoveries.append(recovery)
    return recoveries


def _diagnose(row: sa.RowMapping) -> tuple[str, str]:
    """The error code and the words for why this attempt is over."""
    worker, stage = row["worker_id"], row["stage"]
    if row["worker_gone"]:
        why = (row["worker_stop_reason"] or "it stopped").removeprefix("dead: ")
        return "worker_lost", f"Worker {worker} was lost while {stage}: {why}."
    if row["lease_expired"]:
        silent = (row["now"] - row["heartbeat_at"]).total_seconds()
        return (
            "worker_lost",
            f"No heartbeat from worker {worker} for {silent:.0f} s while {stage}.",
        )
    took = (row["now"] - row["stage_started_at"]).total_seconds()
    allowed = (row["stage_deadline_at"] - row["stage_started_at"]).total_seconds()
    return (
        "stage_timeout",
        f"The {stage} stage ran {took:.0f} s, longer than its limit of "
        f"{allowed:.0f} s, although its worker was still alive.",
    )


def _recover(db: Database, policy: RetryPolicy, row: sa.RowMapping) -> Recovery | None:
    code, message = _diagnose(row)
    job_id, attempt, stage = row["id"], row["attempt"], row["stage"]
    with db.write() as conn:
        if row["cancel_requested"]:
            reason = f"Cancelled on request. {message}"
            job = finish_cancel(db, conn, job_id, attempt, stage, reason)
        else:
            error = JobError(code, message, retryable=True)
            job = end_attempt(db, conn, job_id, attempt, stage, error, policy)
    if job is None:
        return None

    log.warning(
        "recovered job %s: %s",
        job_id,
        message,
        extra={
            "event": "job_reaped",
            "job_id": job_id,
            "attempt": attempt,
            "code": code,
            "to_status": job.status,
        },
    )
    return Recovery(
        job_id=job_id,
        project_id=row["project_id"],
        attempt=attempt,
        code="cancelled" if job.status == "cancelled" else code,
        from_status=stage,
        to_status=job.status,
        reason=job.error_message or message,
    )
