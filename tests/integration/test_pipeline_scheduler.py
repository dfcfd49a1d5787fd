"""The scheduler on SQLite and PostgreSQL: each slot once, in the project's zone.

Time moves by ``Database.clock_offset``, which every statement of the engine
and the scheduler reads, so a test can walk through many slots in a second.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pipeline_helpers import (
    articles_of,
    make_settings,
    new_project,
    start_run,
    wait_for,
)

from autopilot.db import Database
from autopilot.jobs import attempts, control, queue
from autopilot.jobs.kinds import JobKind, Stage
from autopilot.jobs.records import JobRecord, jobs_table
from autopilot.models import Project
from autopilot.pipeline.projects import ProjectUpdate, apply_update
from autopilot.pipeline.runs import RUN_KIND
from autopilot.pipeline.scheduler import enqueue_due_runs, schedule_key
from autopilot.runtime import build_worker
from autopilot.settings import Settings

projects_table: sa.Table = Project.__table__  # type: ignore[assignment]

STUB_RUN = JobKind(RUN_KIND, lambda ctx: None, (Stage("generating", 60),))
"""Stands in for the real run where a test only needs jobs to finish."""


def _scheduled(
    db: Database, settings: Settings, cron: str, timezone: str = "Europe/Amsterdam"
) -> int:
    update = ProjectUpdate(
        schedule_cron=cron, timezone=timezone, autopilot_enabled=True
    )
    return new_project(db, settings, [("planning", 0)], update)


def _set_scheduled_through(db: Database, project_id: int, when: datetime) -> None:
    with db.write() as conn:
        conn.execute(
            sa.update(projects_table)
            .where(projects_table.c.id == project_id)
            .values(scheduled_through=when)
        )


def _scheduled_through(db: Database, project_id: int) -> datetime | None:
    with db.read() as conn:
        value = conn.execute(
            sa.select(projects_table.c.scheduled_through).where(
                projects_table.c.id == project_id
            )
        ).scalar_one()
    assert value is None or isinstance(value, datetime)
    return value


def _jobs(db: Database, project_id: int | None = None) -> list[JobRecord]:
    ids = None if project_id is None else [project_id]
    return control.list_jobs(db, project_ids=ids, limit=1000)


def _finish_due_jobs(db: Database) -> int:
    """Complete every due run at once, as a fast worker would; return how many."""
    claimed = queue.claim(db, "stub-worker", [STUB_RUN], limit=100, lease_seconds=30)
    for job in claimed:
        assert attempts.complete(db, job.id, job.attempt, job.stage or "generating")
    return len(claimed)


def _race(schedulers: list[Database], settings: Settings) -> list[int]:
    """Let every scheduler enqueue due runs at the same moment; return new job ids."""
    created: list[int] = []
    barrier = threading.Barrier(len(schedulers))

    def race(scheduler_db: Database) -> None:
        barrier.wait()
        created.extend(enqueue_due_runs(scheduler_db, settings))

    threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return created


def _scheduled_for(job: JobRecord) -> datetime:
    return datetime.fromisoformat(job.payload["scheduledFor"])


def test_racing_schedulers_enqueue_each_slot_exactly_once(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """Two schedulers racing over many due slots make one job per (project, slot)."""
    settings = make_settings(tmp_path)
    project_ids = [_scheduled(db, settings, "* * * * *", "UTC") for _ in range(3)]
    real_now = db.current_time()
    start = real_now.replace(second=0, microsecond=0)
    for project_id in project_ids:
        _set_scheduled_through(db, project_id, start)
    # At step i the database clock reads start + i minutes + 30 s.
    base = (start + timedelta(seconds=30) - real_now).total_seconds()
    schedulers = [Database(database_url), Database(database_url)]
    steps = 6

    try:
        for step in range(1, steps + 1):
            for scheduler_db in (db, *schedulers):
                scheduler_db.clock_offset = base + 60 * step
            created = _race(schedulers, settings)

            assert len(created) == len(project_ids), step
            for project_id in project_ids:
                active = [j for j in _jobs(db, project_id) if j.is_active]
                assert len(active) <= 1
            assert _finish_due_jobs(db) == len(project_ids)
    finally:
        for scheduler_db in schedulers:
            scheduler_db.dispose()

    jobs = _jobs(db)
    keys = Counter(job.dedupe_key for job in jobs)
    expected = {
        schedule_key(project_id, start + timedelta(minutes=step))
        for project_id in project_ids
        for step in range(1, steps + 1)
    }
    assert set(keys) == expected
    assert set(keys.values()) == {1}
    assert all(job.status == "completed" for job in jobs)


def test_missed_slots_after_downtime_collapse_into_one_run(
    db: Database, tmp_path: Path
) -> None:
    """Five days without a scheduler give one run, for the latest missed slot."""
    settings = make_settings(tmp_path)
    project = _scheduled(db, settings, "0 9 * * *")
    now = db.current_time()
    _set_scheduled_through(db, project, now - timedelta(days=5))

    created = enqueue_due_runs(db, settings)
    again = enqueue_due_runs(db, settings)

    assert len(created) == 1 and again == []
    [job] = _jobs(db, project)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    local_now = now.astimezone(amsterdam)
    latest = datetime.combine(local_now.date(), datetime.min.time().replace(hour=9))
    latest = latest.replace(tzinfo=amsterdam)
    if latest > local_now:
        latest = datetime.combine(
            local_now.date() - timedelta(days=1), latest.time(), tzinfo=amsterdam
        )
    assert _scheduled_for(job) == latest.astimezone(UTC)
    assert _scheduled_through(db, project) == latest.astimezone(UTC)


def test_a_due_slot_while_a_run_is_active_adds_no_second_run(
    db: Database, tmp_path: Path
) -> None:
    """A project whose run is still pending gets no second one from the schedule."""
    settings = make_settings(tmp_path)
    project = _scheduled(db, settings, "0 * * * *", "UTC")
    pending = start_run(db, settings, project)
    _set_scheduled_through(db, project, db.current_time() - timedelta(hours=3))

    created = enqueue_due_runs(db, settings)

    assert created == []
    assert [job.id for job in _jobs(db, project)] == [pending]


def test_paused_project_is_skipped_and_resuming_fires_no_missed_slot(
    db: Database, tmp_path: Path
) -> None:
    """Autopilot off means no scheduled runs; switching it on starts from now."""
    settings = make_settings(tmp_path)
    project = _scheduled(db, settings, "0 * * * *", "UTC")
    with db.session() as session:
        target = session.get(Project, project)
        assert target is not None
        apply_update(session, target, ProjectUpdate(autopilot_enabled=False), settings)
    _set_scheduled_through(db, project, db.current_time() - timedelta(days=2))

    paused = enqueue_due_runs(db, settings)
    with db.session() as session:
        target = session.get(Project, project)
        assert target is not None
        apply_update(session, target, ProjectUpdate(autopilot_enabled=True), settings)
    resumed = enqueue_due_runs(db, settings)

    assert paused == [] and resumed == []
    assert _jobs(db, project) == []


def test_new_york_project_fires_at_nine_new_york_time(
    db: Database, tmp_path: Path
) -> None:
    """'0 9 * * *' in America/New_York is due at 09:00 on New York's clock."""
    settings = make_settings(tmp_path)
    project = _scheduled(db, settings, "0 9 * * *", "America/New_York")
    now = db.current_time()
    _set_scheduled_through(db, project, now - timedelta(days=2))

    enqueue_due_runs(db, settings)

    [job] = _jobs(db, project)
    slot = _scheduled_for(job)
    local = slot.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)
    assert now - timedelta(days=1) < slot <= now
    assert job.dedupe_key == schedule_key(project, slot)


def test_worker_runs_the_scheduled_run_it_enqueued(
    db: Database, tmp_path: Path
) -> None:
    """A worker's scheduler enqueues the due slot and the worker publishes it."""
    settings = make_settings(tmp_path)
    project = _scheduled(db, settings, "*/5 * * * *", "UTC")
    _set_scheduled_through(db, project, db.current_time() - timedelta(minutes=12))
    worker = build_worker(settings, db)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()

    try:
        job = wait_for(
            lambda: next((j for j in _jobs(db, project) if j.is_finished), None),
            what="the scheduled run to finish",
        )
    finally:
        worker.stop()
        thread.join(timeout=15)

    assert job.status == "completed", job.error_message
    assert job.dedupe_key is not None and job.dedupe_key.startswith("schedule:")
    assert [a["keyword"] for a in articles_of(db, project)] == ["planning"]
    with db.read() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(jobs_table)
        ).scalar_one()
    assert count == 1
