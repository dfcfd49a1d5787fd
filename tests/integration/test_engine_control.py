"""What people may do to jobs: cancel, retry, delete and list."""

from __future__ import annotations

import time

import pytest
from engine_support import (
    LEASE,
    TWO_STAGE,
    Background,
    claim_in,
    count_events,
    event_names,
    job_row,
    new_project,
    row_held,
)

from autopilot.db import Database
from autopilot.errors import Conflict, JobError, NotFound
from autopilot.jobs import attempts, control, queue, reaper
from autopilot.jobs.queue import ActiveJobConflict
from autopilot.jobs.records import JobRecord
from autopilot.jobs.retry import RetryPolicy

KIND = TWO_STAGE.name
POLICY = RetryPolicy(base_seconds=1, max_seconds=2)


def _claim_one(db: Database, worker_id: str = "w1") -> JobRecord:
    [job] = queue.claim(db, worker_id, [TWO_STAGE], limit=1, lease_seconds=LEASE)
    return job


def test_cancel_pending_job_is_cancelled_at_once(db: Database) -> None:
    """A pending job is cancelled immediately, with a reason in its event."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project).job

    cancelled = control.cancel(db, job.id, by="request")

    assert (cancelled.status, cancelled.error_code) == ("cancelled", "cancelled")
    assert cancelled.finished_at is not None
    assert control.active_job(db, project) is None
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.from_status, last.to_status) == (
        "cancelled",
        "pending",
        "cancelled",
    )
    assert last.reason == "Cancelled on request before it started."


def test_cancel_running_job_only_requests_it(db: Database) -> None:
    """A running job keeps running with cancel_requested until its worker stops."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)

    requested = control.cancel(db, job.id)

    assert (requested.status, requested.cancel_requested) == ("running", True)
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.from_status, last.to_status) == (
        "cancel_requested",
        "stage_a",
        "stage_a",
    )
    assert last.reason is not None and "next heartbeat" in last.reason


def test_worker_acknowledging_cancel_finishes_the_job_cancelled(
    db: Database,
) -> None:
    """The holder of the attempt ends a cancel-requested job as cancelled."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)
    control.cancel(db, job.id)

    assert attempts.acknowledge_cancel(db, job.id, 1, "stage_a")

    done = job_row(db, job.id)
    assert (done.status, done.error_code) == ("cancelled", "cancelled")
    assert event_names(db, job.id)[-2:] == ["cancel_requested", "cancelled"]


def test_reaper_finishes_cancel_of_a_job_whose_worker_is_gone(
    db: Database,
) -> None:
    """A cancel-requested job whose lease ran out ends cancelled, not retried."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    _claim_one(db)
    control.cancel(db, job.id)
    db.clock_offset = LEASE + 5

    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)

    assert (recovery.code, recovery.to_status) == ("cancelled", "cancelled")
    done = job_row(db, job.id)
    assert (done.status, done.error_code) == ("cancelled", "cancelled")
    last = control.job_events(db, job.id)[-1]
    assert last.event == "cancelled"
    assert last.reason is not None
    assert last.reason.startswith("Cancelled on request. No heartbeat from worker w1")


def test_failure_after_cancel_request_does_not_run_the_job_again(
    db: Database,
) -> None:
    """A retryable failure of a cancel-requested attempt ends it, never retried."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)
    control.cancel(db, job.id)
    error = JobError("llm_timeout", "The writer did not answer.", retryable=True)

    ended = attempts.fail(db, job.id, 1, "stage_a", error, POLICY)

    assert ended is not None
    assert ended.status == "cancelled"
    db.clock_offset = 60
    assert queue.claim(db, "w1", [TWO_STAGE], limit=1, lease_seconds=LEASE) == []
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.to_status) == ("cancelled", "cancelled")


def test_release_after_cancel_request_does_not_run_the_job_again(
    db: Database,
) -> None:
    """A stopping worker's job whose cancel was requested ends cancelled."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)
    control.cancel(db, job.id)

    attempts.release(db, job.id, 1, "stage_a", "w1")

    assert job_row(db, job.id).status == "cancelled"
    assert queue.claim(db, "w1", [TWO_STAGE], limit=1, lease_seconds=LEASE) == []


def test_cancel_of_a_finished_or_missing_job_is_refused(db: Database) -> None:
    """Finished jobs cannot be cancelled (nothing changes); missing ones are 404."""
    done = queue.enqueue(db, KIND).job
    _claim_one(db)
    attempts.complete(db, done.id, 1, "stage_a")
    failed = queue.enqueue(db, KIND).job
    _claim_one(db)
    attempts.fail(db, failed.id, 1, "stage_a", JobError("bad", "Bad."), POLICY)
    cancelled = queue.enqueue(db, KIND).job
    control.cancel(db, cancelled.id)
    finished = (done, failed, cancelled)
    statuses = [job_row(db, job.id).status for job in finished]
    assert statuses == ["completed", "failed", "cancelled"]

    for job in finished:
        before, events = job_row(db, job.id), count_events(db)
        with pytest.raises(Conflict) as caught:
            control.cancel(db, job.id)
        assert f"already {before.status}" in caught.value.message
        assert job_row(db, job.id) == before
        assert count_events(db) == events
    with pytest.raises(NotFound):
        control.cancel(db, 4242)


def test_delete_refuses_active_jobs(db: Database) -> None:
    """Pending and running jobs cannot be deleted, only finished ones."""
    pending = queue.enqueue(db, KIND, delay_seconds=60).job
    running = queue.enqueue(db, KIND).job
    _claim_one(db)

    for job in (pending, running):
        with pytest.raises(Conflict) as caught:
            control.delete(db, job.id)
        assert "Cancel it first" in caught.value.message

    assert job_row(db, pending.id).status == "pending"
    assert job_row(db, running.id).status == "running"


def test_delete_removes_a_finished_job_but_keeps_its_events(db: Database) -> None:
    """A deleted job is gone; its history stays, ending in a "deleted" event."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    control.cancel(db, job.id)

    control.delete(db, job.id)

    with pytest.raises(NotFound):
        control.get_job(db, job.id)
    assert event_names(db, job.id) == ["enqueued", "cancelled", "deleted"]
    with pytest.raises(NotFound):
        control.delete(db, job.id)


def test_retry_of_a_failed_job_enqueues_a_new_one(db: Database) -> None:
    """Retrying a failed job creates a new job with the same work."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project, payload={"k": "v"}).job
    _claim_one(db)
    attempts.fail(db, job.id, 1, "stage_a", JobError("bad", "Bad."), POLICY)

    again = control.retry(db, job.id, max_attempts=2)

    assert again.id != job.id
    assert (again.status, again.max_attempts) == ("pending", 2)
    assert again.payload == {"k": "v", "retry_of": job.id}
    with pytest.raises(Conflict):
        control.retry(db, again.id, max_attempts=2)


def test_retry_while_the_project_is_busy_is_a_conflict(db: Database) -> None:
    """Retry respects the one-active-job rule and names the job in the way."""
    project = new_project(db)
    old = queue.enqueue(db, KIND, project_id=project).job
    control.cancel(db, old.id)
    busy = queue.enqueue(db, KIND, project_id=project).job

    with pytest.raises(ActiveJobConflict) as caught:
        control.retry(db, old.id, max_attempts=3)

    assert caught.value.job.id == busy.id


def test_list_jobs_filters_by_status_and_stage(db: Database) -> None:
    """A status filter matches engine statuses and the stage of running jobs."""
    project = new_project(db)
    waiting = queue.enqueue(db, KIND, delay_seconds=60).job
    running = queue.enqueue(db, KIND, project_id=project).job
    _claim_one(db)

    assert [j.id for j in control.list_jobs(db, status="pending")] == [waiting.id]
    assert [j.id for j in control.list_jobs(db, status="stage_a")] == [running.id]
    assert control.list_jobs(db, status="stage_b") == []
    assert [j.id for j in control.list_jobs(db, project_ids=[project])] == [running.id]
    assert [j.id for j in control.list_jobs(db)] == [running.id, waiting.id]


def test_cancel_racing_a_claim_requests_cancel_of_the_running_job(
    db: Database,
) -> None:
    """A cancel that meets a claim in flight cancels the job the claim started."""
    job = queue.enqueue(db, KIND).job

    with row_held(db, job.id) as conn:
        cancelling = Background(lambda: control.cancel(db, job.id))
        time.sleep(0.3)
        claim_in(conn, db, job.id, "w1")
    cancelled = cancelling.join()

    assert (cancelled.status, cancelled.cancel_requested) == ("running", True)
    assert job_row(db, job.id) == cancelled
    assert event_names(db, job.id) == ["enqueued", "cancel_requested"]
