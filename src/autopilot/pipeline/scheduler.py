"""The scheduler: enqueue each project's due run, once per slot.

Every worker and ``serve`` runs it. A slot is enqueued with a unique key on
(project, slot), so several schedulers never fire one slot twice; after
downtime the missed slots collapse into one run.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.errors import AutopilotError
from autopilot.jobs import queue
from autopilot.models import Project
from autopilot.pipeline.runs import RUN_KIND
from autopilot.pipeline.schedule import latest_due_slot, next_slot
from autopilot.settings import Settings

log = logging.getLogger(__name__)

projects: sa.Table = Project.__table__  # type: ignore[assignment]

SCHEDULER_INTERVAL_SECONDS = 15.0


def schedule_key(project_id: int, slot: datetime) -> str:
    return f"schedule:{project_id}:{slot:%Y-%m-%dT%H:%M}"


def enqueue_due_runs(db: Database, settings: Settings) -> list[int]:
    """Enqueue the due run of every active project; returns the new job ids."""
    now = db.current_time()
    with db.read() as conn:
        rows = conn.execute(
            sa.select(
                projects.c.id,
                projects.c.schedule_cron,
                projects.c.timezone,
                projects.c.scheduled_through,
                projects.c.created_at,
            ).where(
                projects.c.autopilot_enabled.is_(True),
                projects.c.schedule_cron.is_not(None),
            )
        ).all()

    created = []
    for row in rows:
        since = row.scheduled_through or row.created_at
        try:
            slot = latest_due_slot(row.schedule_cron, row.timezone, since, now)
        except AutopilotError as exc:
            log.warning(
                "project %s has an unusable schedule: %s",
                row.id,
                exc,
                extra={"event": "schedule_invalid", "project_id": row.id},
            )
            continue
        if slot is None:
            continue
        job_id = _enqueue_slot(db, settings, row.id, slot, since)
        if job_id is not None:
            created.append(job_id)
    return created


def _enqueue_slot(
    db: Database, settings: Settings, project_id: int, slot: datetime, since: datetime
) -> int | None:
    outcome = queue.enqueue(
        db,
        RUN_KIND,
        project_id=project_id,
        payload={"scheduledFor": slot.isoformat()},
        max_attempts=settings.max_attempts,
        dedupe_key=schedule_key(project_id, slot),
    )
    with db.write() as conn:
        conn.execute(
            sa.update(projects)
            .where(
                projects.c.id == project_id,
                sa.or_(
                    projects.c.scheduled_through.is_(None),
                    projects.c.scheduled_through < slot,
                ),
            )
            .values(scheduled_through=slot)
        )
    if not outcome.created:
        return None
    log.info(
        "scheduled run %s for project %s (slot %s)",
        outcome.job.id,
        project_id,
        slot.isoformat(),
        extra={"event": "run_scheduled", "job_id": outcome.job.id},
    )
    return outcome.job.id


def next_run_at(project: Project, now: datetime) -> datetime | None:
    """When the schedule next fires, or None when paused, unscheduled or unusable."""
    if not project.autopilot_enabled or not project.schedule_cron:
        return None
    try:
        return next_slot(project.schedule_cron, project.timezone, now)
    except AutopilotError:
        return None
