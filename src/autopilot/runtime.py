"""Wiring shared by the CLI and the web app: settings to database, kinds, worker."""

from __future__ import annotations

from autopilot.db import Database
from autopilot.jobs.builtin import BUILTIN_KINDS
from autopilot.jobs.kinds import KindRegistry
from autopilot.jobs.retry import RetryPolicy
from autopilot.jobs.worker import Periodic, Worker, WorkerConfig
from autopilot.pipeline.run import autopilot_run_kind
from autopilot.pipeline.scheduler import SCHEDULER_INTERVAL_SECONDS, enqueue_due_runs
from autopilot.settings import Settings


def open_database(settings: Settings, *, require_schema: bool = True) -> Database:
    """The configured database; by default refuses one that is not migrated."""
    db = Database(settings.resolved_database_url)
    if require_schema:
        db.require_current_schema()
    return db


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds)


def job_kinds(settings: Settings) -> KindRegistry:
    """Every job kind this installation runs."""
    return KindRegistry([*BUILTIN_KINDS, autopilot_run_kind(settings)])


def periodic_tasks(settings: Settings, db: Database) -> list[Periodic]:
    """Tasks every worker runs besides jobs: the scheduler."""
    return [
        Periodic(
            "scheduler",
            SCHEDULER_INTERVAL_SECONDS,
            lambda: enqueue_due_runs(db, settings),
        )
    ]


def build_worker(
    settings: Settings,
    db: Database,
    *,
    concurrency: int = 1,
    burst: bool = False,
    only_job_id: int | None = None,
) -> Worker:
    """A worker as configured; with ``only_job_id`` it runs that job alone and
    no scheduler."""
    config = WorkerConfig(
        concurrency=concurrency,
        burst=burst,
        heartbeat_seconds=settings.heartbeat_seconds,
        lease_seconds=settings.lease_seconds,
        reap_interval_seconds=settings.reap_interval_seconds,
        poll_seconds=settings.poll_seconds,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
        retry=retry_policy(settings),
        only_job_id=only_job_id,
    )
    periodic = [] if only_job_id is not None else periodic_tasks(settings, db)
    return Worker(db, job_kinds(settings), config, periodic=periodic)
