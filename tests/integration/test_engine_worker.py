"""A real Worker on a thread: outcomes, lost leases, deadlines, cancel, shutdown."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from engine_support import (
    Recorder,
    count_events,
    count_jobs,
    job_row,
    new_project,
    running_worker,
    wait_for,
    wait_status,
)

from autopilot.db import Database
from autopilot.errors import JobError
from autopilot.jobs import control, liveness, queue, reaper
from autopilot.jobs.context import JobContext
from autopilot.jobs.kinds import JobKind, KindRegistry, Stage
from autopilot.jobs.retry import RetryPolicy
from autopilot.jobs.worker import Worker, WorkerConfig


def _spend(ctx: JobContext, seconds: float) -> None:
    """Stay busy in the current stage, reporting progress now and then."""
    started = time.monotonic()
    reported = started
    while (elapsed := time.monotonic() - started) < seconds:
        if time.monotonic() - reported >= 0.3:
            ctx.progress(int(100 * elapsed / seconds), f"{elapsed:.1f} s in")
            reported = time.monotonic()
        ctx.sleep(min(0.05, seconds - elapsed))


def two_stage_kind(
    recorder: Recorder, *, stage_a: float = 60.0, stage_b: float = 60.0
) -> JobKind:
    """A kind that spends ``payload.a`` s in stage_a and ``payload.b`` s in stage_b."""

    def run(ctx: JobContext) -> dict[str, Any]:
        recorder.add(ctx)
        _spend(ctx, float(ctx.payload.get("a", 0)))
        ctx.advance("stage_b")
        _spend(ctx, float(ctx.payload.get("b", 0)))
        return {"spent": ctx.payload}

    stages = (Stage("stage_a", stage_a), Stage("stage_b", stage_b))
    return JobKind("two_stage", run, stages)


def test_burst_worker_runs_every_due_job_and_records_outcomes(db: Database) -> None:
    """A draining worker completes good jobs and fails broken ones with a code."""

    def run(ctx: JobContext) -> dict[str, Any] | None:
        action = ctx.payload.get("action")
        if action == "crash":
            raise ValueError("disk on fire")
        if action == "refuse":
            raise JobError("publish_auth_failed", "The site refused the password.")
        return {"job": ctx.id}

    kind = JobKind("outcome", run, (Stage("working", 30),))
    good = [queue.enqueue(db, "outcome").job.id for _ in range(3)]
    crash = queue.enqueue(db, "outcome", payload={"action": "crash"}, max_attempts=1)
    refuse = queue.enqueue(db, "outcome", payload={"action": "refuse"})
    config = WorkerConfig(burst=True, concurrency=2, heartbeat_seconds=0.1)
    worker = Worker(db, KindRegistry([kind]), config)

    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert worker.processed == 5
    for job_id in good:
        done = job_row(db, job_id)
        assert (done.status, done.result) == ("completed", {"job": job_id})
    crashed = job_row(db, crash.job.id)
    assert (crashed.status, crashed.error_code) == ("failed", "internal_error")
    assert crashed.error_message is not None and "disk on fire" in crashed.error_message
    refused = job_row(db, refuse.job.id)
    assert (refused.status, refused.error_code) == ("failed", "publish_auth_failed")
    [record] = liveness.list_workers(db, include_stopped=True)
    assert (record.id, record.stop_reason) == (worker.id, "drained")


def test_worker_stops_a_job_whose_lease_was_stolen(db: Database) -> None:
    """A zombie attempt is stopped (lease_lost) at its worker's next heartbeat."""
    recorder = Recorder()
    job = queue.enqueue(db, "two_stage", payload={"a": 60}).job
    thief = Database(db.url)
    policy = RetryPolicy(base_seconds=1, max_seconds=2)

    try:
        with running_worker(db, [two_stage_kind(recorder)], lease_seconds=5):
            wait_for(lambda: recorder.has(job.id), what="the job to start")
            zombie = recorder.context(job.id)

            thief.clock_offset = 6
            [recovery] = reaper.reap(thief, policy, lease_seconds=5)
            thief.clock_offset = 10
            # SKIP LOCKED passes over the row while the zombie's own write
            # holds it for a moment; the thief simply claims again.
            claims: list[list[Any]] = []

            def thief_claims() -> bool:
                kinds = [two_stage_kind(Recorder())]
                claims.append(
                    queue.claim(thief, "thief", kinds, limit=1, lease_seconds=5)
                )
                return bool(claims[-1])

            wait_for(thief_claims, timeout=5, what="the thief to claim the job")
            [stolen] = claims[-1]
            wait_for(lambda: zombie.stopped, timeout=10, what="the zombie to stop")
            after_stop, events = job_row(db, job.id), count_events(db)
            time.sleep(0.3)
            assert job_row(db, job.id) == after_stop
    finally:
        thief.dispose()

    assert (recovery.job_id, recovery.attempt, recovery.code) == (
        job.id,
        1,
        "worker_lost",
    )
    assert (stolen.id, stolen.attempt) == (job.id, 2)
    assert zombie.stop_reason == "lease_lost"
    assert job_row(db, job.id) == after_stop == stolen
    assert count_events(db) == events


def test_stage_deadline_stops_a_hung_job_but_not_a_slow_healthy_one(
    db: Database,
) -> None:
    """A job stuck in one stage times out; one moving through stages completes."""
    recorder = Recorder()
    # Stage A's 1.5 s plays the 15 minutes. The healthy run takes longer than
    # that in all, but leaves each stage 0.4 s or more early: room for a busy
    # machine. The lease is shorter than stage A, so heartbeats keep the hung
    # job alive past it and only its deadline ends it.
    kind = two_stage_kind(recorder, stage_a=1.5, stage_b=1.2)
    hung = queue.enqueue(db, "two_stage", payload={"a": 60}, max_attempts=1).job
    healthy = queue.enqueue(db, "two_stage", payload={"a": 1.1, "b": 0.6}).job

    with running_worker(
        db,
        [kind],
        concurrency=2,
        heartbeat_seconds=0.1,
        lease_seconds=1.0,
        reap_interval_seconds=0.1,
    ):
        timed_out = wait_status(db, hung.id, "failed", "completed", timeout=20)
        done = wait_status(db, healthy.id, "completed", "failed", "pending", timeout=20)
        wait_for(lambda: recorder.context(hung.id).stopped, what="the hung job")

    assert (timed_out.status, timed_out.error_code) == ("failed", "stage_timeout")
    assert timed_out.error_message is not None
    assert timed_out.error_message.startswith("The stage_a stage ran")
    assert timed_out.started_at is not None and timed_out.finished_at is not None
    assert timed_out.finished_at - timed_out.started_at >= timedelta(seconds=1.4)
    assert recorder.context(hung.id).stop_reason == "lease_lost"

    assert (done.status, done.attempt, done.error_code) == ("completed", 1, None)
    assert done.started_at is not None and done.finished_at is not None
    assert done.finished_at - done.started_at >= timedelta(seconds=1.6)
    stages = [
        e.to_status for e in control.job_events(db, healthy.id) if e.event != "progress"
    ]
    assert stages == ["pending", "stage_a", "stage_b", "completed"]


def test_worker_stops_a_cancelled_job_at_its_next_heartbeat(db: Database) -> None:
    """Cancel of a running job ends it cancelled once its worker heartbeats."""
    recorder = Recorder()
    job = queue.enqueue(db, "two_stage", project_id=new_project(db), payload={"a": 60})

    with running_worker(db, [two_stage_kind(recorder)]):
        wait_for(lambda: recorder.has(job.job.id), what="the job to start")
        control.cancel(db, job.job.id)
        cancelled = wait_status(db, job.job.id, "cancelled", "failed", "completed")
        wait_for(lambda: recorder.context(job.job.id).stopped, what="the job to stop")

    assert (cancelled.status, cancelled.error_code) == ("cancelled", "cancelled")
    assert recorder.context(job.job.id).stop_reason == "cancelled"
    last = control.job_events(db, job.job.id)[-1]
    assert (last.event, last.from_status, last.to_status) == (
        "cancelled",
        "stage_a",
        "cancelled",
    )
    assert last.reason == "Cancelled on request; the run was stopped."


def test_stopping_worker_releases_its_job_without_costing_an_attempt(
    db: Database,
) -> None:
    """On shutdown a long run goes back to pending at once, attempt not counted."""
    recorder = Recorder()
    job = queue.enqueue(db, "two_stage", project_id=new_project(db), payload={"a": 60})
    job_id = job.job.id

    with running_worker(
        db, [two_stage_kind(recorder)], shutdown_grace_seconds=0.2
    ) as worker:
        wait_for(lambda: recorder.has(job_id), what="the job to start")
        asked = time.monotonic()
        worker.stop()
        assert worker.wait_stopped(timeout=10)
        took = time.monotonic() - asked

    released = job_row(db, job_id)
    assert (released.status, released.attempt) == ("pending", 1)
    assert (released.max_attempts, job.job.max_attempts) == (4, 3)
    assert released.worker_id is None and released.lease_expires_at is None
    assert released.run_at <= db.current_time()
    assert count_jobs(db, status="running") == 0
    assert took < 10
    assert recorder.context(job_id).stop_reason == "shutdown"
    last = control.job_events(db, job_id)[-1]
    assert (last.event, last.from_status, last.to_status, last.code) == (
        "released",
        "stage_a",
        "pending",
        "worker_shutdown",
    )
    assert last.reason is not None
    assert f"Worker {worker.id} shut down" in last.reason
    assert "does not count" in last.reason
