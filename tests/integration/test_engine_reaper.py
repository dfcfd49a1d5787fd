"""Recovery: lost workers, overrun stages and dead processes, reaped exactly once."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from engine_support import LEASE, TWO_STAGE, count_events, job_row, new_project

from autopilot.db import Database
from autopilot.jobs import attempts, control, liveness, queue, reaper
from autopilot.jobs.records import JobRecord
from autopilot.jobs.retry import RetryPolicy

KIND = TWO_STAGE.name
POLICY = RetryPolicy(base_seconds=10, max_seconds=60)


def _claim(db: Database, worker_id: str = "w1", limit: int = 1) -> list[JobRecord]:
    return queue.claim(db, worker_id, [TWO_STAGE], limit=limit, lease_seconds=LEASE)


def test_reaper_leaves_healthy_jobs_alone(db: Database) -> None:
    """A job within its lease and its stage deadline is not touched."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    [claimed] = _claim(db)
    db.clock_offset = LEASE - 5

    assert reaper.reap(db, POLICY, lease_seconds=LEASE) == []
    assert job_row(db, job.id) == claimed


def test_reaper_retries_job_whose_worker_stopped_heartbeating(db: Database) -> None:
    """A lease that ran out is worker_lost, and the job goes back to pending."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    _claim(db, "w-silent")
    db.clock_offset = LEASE + 12

    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)

    assert (recovery.job_id, recovery.attempt, recovery.code) == (
        job.id,
        1,
        "worker_lost",
    )
    assert (recovery.from_status, recovery.to_status) == ("stage_a", "pending")
    reason = r"No heartbeat from worker w-silent for (\d+) s while stage_a\."
    match = re.fullmatch(reason, recovery.reason)
    assert match and int(match[1]) >= LEASE + 10
    reaped = job_row(db, job.id)
    assert (reaped.status, reaped.error_code) == ("pending", "worker_lost")
    assert (reaped.worker_id, reaped.lease_expires_at) == (None, None)
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.from_status, last.to_status, last.code) == (
        "retry_scheduled",
        "stage_a",
        "pending",
        "worker_lost",
    )
    assert last.reason is not None
    assert re.match(reason + r" Retry 2 of 3 at \d\d:\d\d:\d\d UTC\.$", last.reason)


def test_reaper_fails_job_whose_worker_died_on_its_last_attempt(
    db: Database,
) -> None:
    """A lost worker on the final attempt leaves the job failed with worker_lost."""
    job = queue.enqueue(db, KIND, max_attempts=1).job
    _claim(db)
    db.clock_offset = LEASE + 1

    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)

    assert recovery.to_status == "failed"
    failed = job_row(db, job.id)
    assert (failed.status, failed.error_code) == ("failed", "worker_lost")
    assert failed.error_message is not None
    assert failed.error_message.endswith("while stage_a.")
    last = control.job_events(db, job.id)[-1]
    assert last.reason is not None and last.reason.endswith("No attempts left.")


def test_reaper_times_out_a_stage_whose_worker_still_heartbeats(
    db: Database,
) -> None:
    """Heartbeats do not save a stage past its deadline: stage_timeout."""
    job = queue.enqueue(db, KIND).job
    _claim(db, "w-busy")
    db.clock_offset = 75
    assert queue.heartbeat(db, "w-busy", LEASE)

    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)

    assert (recovery.job_id, recovery.code) == (job.id, "stage_timeout")
    match = re.fullmatch(
        r"The stage_a stage ran (\d+) s, longer than its limit of 60 s, "
        r"although its worker was still alive\.",
        recovery.reason,
    )
    assert match and int(match[1]) >= 74
    reaped = job_row(db, job.id)
    assert (reaped.status, reaped.error_code) == ("pending", "stage_timeout")


def test_reaper_uses_the_deadline_of_the_current_stage(db: Database) -> None:
    """After advancing, the new stage's own limit is what counts."""
    job = queue.enqueue(db, KIND).job
    _claim(db)
    db.clock_offset = 50
    attempts.advance_stage(db, job.id, 1, "stage_a", "stage_b", timeout_seconds=30)
    db.clock_offset = 70
    queue.heartbeat(db, "w1", LEASE)

    assert reaper.reap(db, POLICY, lease_seconds=LEASE) == []

    db.clock_offset = 85
    queue.heartbeat(db, "w1", LEASE)
    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)
    assert (recovery.code, recovery.from_status) == ("stage_timeout", "stage_b")


def test_reaper_for_one_project_leaves_other_projects_alone(db: Database) -> None:
    """Reaping on a project's read recovers only that project's jobs."""
    mine = queue.enqueue(db, KIND, project_id=new_project(db)).job
    theirs = queue.enqueue(db, KIND, project_id=new_project(db)).job
    _claim(db, limit=2)
    db.clock_offset = LEASE + 1

    recovered = reaper.reap(db, POLICY, lease_seconds=LEASE, project_id=mine.project_id)

    assert [r.job_id for r in recovered] == [mine.id]
    assert job_row(db, theirs.id).status == "running"


def _dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@contextmanager
def _liveness_lock(db: Database, lock_key: int) -> Iterator[None]:
    """Hold a worker's PostgreSQL liveness lock, so only its PID can betray it."""
    if not db.is_postgres:
        yield
        return
    conninfo = db.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_advisory_lock(%s, %s)", (liveness.ADVISORY_NAMESPACE, lock_key)
        )
        yield


def test_worker_whose_process_is_gone_is_dead_at_once(db: Database) -> None:
    """A registered worker whose PID has exited is lost before its lease ends."""
    pid = _dead_pid()
    lock_key = liveness.new_lock_key()
    liveness.register(db, "w-dead", lock_key=lock_key, concurrency=1, kinds=[KIND])
    with db.write() as conn:
        conn.execute(
            sa.update(liveness.workers_table)
            .where(liveness.workers_table.c.id == "w-dead")
            .values(pid=pid)
        )
    job = queue.enqueue(db, KIND).job
    queue.claim(db, "w-dead", [TWO_STAGE], limit=1, lease_seconds=3600)

    with _liveness_lock(db, lock_key):
        [recovery] = reaper.reap(db, POLICY, lease_seconds=3600)

    assert (recovery.job_id, recovery.code) == (job.id, "worker_lost")
    assert recovery.reason == (
        f"Worker w-dead was lost while stage_a: its process {pid} is gone."
    )
    [worker] = liveness.list_workers(db, include_stopped=True)
    assert worker.stopped_at is not None
    assert worker.stop_reason == f"dead: its process {pid} is gone"
    assert job_row(db, job.id).status == "pending"


def test_worker_of_this_process_is_alive(db: Database) -> None:
    """A registered worker whose process runs keeps its jobs."""
    lock_key = liveness.new_lock_key()
    liveness.register(db, "w-alive", lock_key=lock_key, concurrency=1, kinds=[KIND])
    queue.enqueue(db, KIND)
    queue.claim(db, "w-alive", [TWO_STAGE], limit=1, lease_seconds=3600)

    with _liveness_lock(db, lock_key):
        assert reaper.reap(db, POLICY, lease_seconds=3600) == []
        assert [w.id for w in liveness.alive_workers(db, 3600)] == ["w-alive"]


def test_concurrent_reapers_recover_each_attempt_exactly_once(db: Database) -> None:
    """Many reapers at once: every lost attempt is recovered once, one event each."""
    total, reapers = 6, 8
    ids = [queue.enqueue(db, KIND).job.id for _ in range(total)]
    _claim(db, limit=total)
    events = count_events(db)
    db.clock_offset = LEASE + 1
    barrier = threading.Barrier(reapers)
    found: list[reaper.Recovery] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=30)
        try:
            recovered = reaper.reap(db, POLICY, lease_seconds=LEASE)
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            found.extend(recovered)

    threads = [threading.Thread(target=run) for _ in range(reapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted((r.job_id, r.attempt) for r in found) == [(i, 1) for i in ids]
    assert count_events(db) == events + total
    for job_id in ids:
        names = [e.event for e in control.job_events(db, job_id)]
        assert names.count("retry_scheduled") == 1
