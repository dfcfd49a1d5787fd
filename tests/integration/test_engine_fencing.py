"""Fenced writes and the failure policy: a lost attempt can change nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from engine_support import (
    LEASE,
    TWO_STAGE,
    count_events,
    event_names,
    job_row,
    new_project,
)

from autopilot.db import Database
from autopilot.errors import JobError
from autopilot.jobs import attempts, control, queue, reaper
from autopilot.jobs.context import JobContext, JobStopped
from autopilot.jobs.records import JobRecord, record_events
from autopilot.jobs.retry import RetryPolicy

KIND = TWO_STAGE.name
POLICY = RetryPolicy(base_seconds=10, max_seconds=600)
RETRY_REASON = re.compile(r" Retry (\d+) of (\d+) at (\d\d:\d\d:\d\d) UTC\.$")


def _claim_one(db: Database, worker_id: str = "w1") -> JobRecord:
    [job] = queue.claim(db, worker_id, [TWO_STAGE], limit=1, lease_seconds=LEASE)
    return job


def _steal(db: Database, job: JobRecord) -> JobRecord:
    """Let the attempt's lease run out, reap it, and claim it again elsewhere."""
    assert job.lease_expires_at is not None
    db.clock_offset += LEASE + 1
    [recovery] = reaper.reap(db, POLICY, lease_seconds=LEASE)
    assert (recovery.job_id, recovery.attempt) == (job.id, job.attempt)
    assert recovery.to_status == "pending"
    db.clock_offset += POLICY.max_seconds + 1
    return _claim_one(db, "thief")


def _timeout() -> JobError:
    return JobError("llm_timeout", "The writer did not answer.", retryable=True)


# Fencing ------------------------------------------------------------------


def test_zombie_attempt_writes_change_nothing(db: Database) -> None:
    """After a reap and a new claim, every write of the old attempt is refused."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    old = _claim_one(db)
    new = _steal(db, old)
    assert (old.attempt, new.attempt) == (1, 2)
    before, events = job_row(db, job.id), count_events(db)
    error = JobError("boom", "Late failure.", retryable=True)

    assert not attempts.complete(db, job.id, 1, "stage_a", {"late": True})
    assert attempts.fail(db, job.id, 1, "stage_a", error, POLICY) is None
    assert not attempts.report_progress(db, job.id, 1, "stage_a", 50, "late")
    assert not attempts.advance_stage(
        db, job.id, 1, "stage_a", "stage_b", timeout_seconds=30
    )
    assert not attempts.acknowledge_cancel(db, job.id, 1, "stage_a")
    assert not attempts.release(db, job.id, 1, "stage_a", "w1")

    assert job_row(db, job.id) == before
    assert before.status == "running" and before.worker_id == "thief"
    assert count_events(db) == events


def test_zombie_context_stops_on_its_next_write(db: Database) -> None:
    """A JobContext of a reaped attempt raises JobStopped(lease_lost) on progress."""
    queue.enqueue(db, KIND)
    old = _claim_one(db)
    new = _steal(db, old)
    ctx = JobContext(db, old, TWO_STAGE)
    events = count_events(db)

    with pytest.raises(JobStopped) as caught:
        ctx.progress(40, "still writing")

    assert caught.value.reason == "lease_lost"
    assert ctx.stopped and ctx.stop_reason == "lease_lost"
    with pytest.raises(JobStopped):
        ctx.advance("stage_b")
    assert job_row(db, new.id).progress == 0
    assert count_events(db) == events


def test_zombie_checkpoint_rolls_back_its_writes(db: Database) -> None:
    """A checkpoint transaction of a lost attempt raises and commits nothing."""
    project = new_project(db, "checkpoint-site")
    queue.enqueue(db, KIND, project_id=project)
    old = _claim_one(db)
    _steal(db, old)
    ctx = JobContext(db, old, TWO_STAGE)
    events = count_events(db)

    with pytest.raises(JobStopped), ctx.checkpoint() as conn:
        record_events(
            db,
            conn,
            [
                {
                    "job_id": old.id,
                    "project_id": project,
                    "event": "checkpoint",
                    "from_status": "stage_a",
                    "to_status": "stage_a",
                    "attempt": old.attempt,
                }
            ],
        )

    assert count_events(db) == events


def test_write_naming_the_wrong_stage_is_refused(db: Database) -> None:
    """A write must name the stage the attempt is in, not a stale one."""
    queue.enqueue(db, KIND)
    job = _claim_one(db)
    assert attempts.advance_stage(
        db, job.id, 1, "stage_a", "stage_b", timeout_seconds=5
    )

    assert not attempts.report_progress(db, job.id, 1, "stage_a", 10, "old stage")
    assert not attempts.complete(db, job.id, 1, "stage_a")
    assert attempts.report_progress(db, job.id, 1, "stage_b", 10, "new stage")
    assert attempts.complete(db, job.id, 1, "stage_b", {"done": 1})

    done = job_row(db, job.id)
    assert (done.status, done.progress, done.result) == ("completed", 100, {"done": 1})
    assert event_names(db, job.id) == [
        "enqueued",
        "claimed",
        "stage",
        "progress",
        "completed",
    ]


def test_advance_stage_sets_the_next_stage_deadline(db: Database) -> None:
    """Entering a stage restarts its clock with that stage's own limit."""
    queue.enqueue(db, KIND)
    job = _claim_one(db)
    db.clock_offset = 20

    assert attempts.advance_stage(
        db, job.id, 1, "stage_a", "stage_b", timeout_seconds=30
    )

    moved = job_row(db, job.id)
    assert moved.shown_status == "stage_b"
    assert moved.stage_started_at is not None and job.stage_started_at is not None
    assert moved.stage_started_at >= job.stage_started_at + timedelta(seconds=19)
    assert moved.stage_deadline_at is not None
    span = moved.stage_deadline_at - moved.stage_started_at
    assert abs(span - timedelta(seconds=30)) < timedelta(seconds=1)


# Failure policy -----------------------------------------------------------


def _retry_parts(reason: str | None) -> tuple[int, int, str]:
    assert reason is not None
    match = RETRY_REASON.search(reason)
    assert match, reason
    return int(match[1]), int(match[2]), match[3]


def _delay_between(
    run_at: datetime, before: datetime, after: datetime, low: float, high: float
) -> bool:
    slack = timedelta(seconds=1)
    return (
        before + timedelta(seconds=low) - slack
        <= run_at
        <= after + timedelta(seconds=high) + slack
    )


def test_retryable_failure_goes_back_to_pending_with_backoff(db: Database) -> None:
    """A retryable error schedules the next attempt 5-10 s later (base 10 s)."""
    job = queue.enqueue(db, KIND, project_id=new_project(db)).job
    _claim_one(db)
    before = db.current_time()

    failed = attempts.fail(db, job.id, 1, "stage_a", _timeout(), POLICY)

    after = db.current_time()
    assert failed is not None
    assert (failed.status, failed.attempt, failed.worker_id) == ("pending", 1, None)
    assert (failed.error_code, failed.error_message) == (
        "llm_timeout",
        "The writer did not answer.",
    )
    assert failed.lease_expires_at is None and failed.stage_deadline_at is None
    assert failed.finished_at is None
    assert _delay_between(failed.run_at, before, after, 5, 10)
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.from_status, last.to_status, last.code) == (
        "retry_scheduled",
        "stage_a",
        "pending",
        "llm_timeout",
    )
    assert _retry_parts(last.reason) == (2, 3, f"{failed.run_at:%H:%M:%S}")
    assert last.reason is not None
    assert last.reason.startswith("The writer did not answer.")


def test_retry_backoff_grows_and_fails_when_attempts_run_out(db: Database) -> None:
    """Each retry waits about twice as long; the last attempt's failure is final."""
    job = queue.enqueue(db, KIND, max_attempts=3).job
    windows = {1: (5, 10), 2: (10, 20)}

    for attempt in (1, 2, 3):
        db.clock_offset += 60
        claimed = _claim_one(db)
        assert claimed.attempt == attempt
        before = db.current_time()
        failed = attempts.fail(db, job.id, attempt, "stage_a", _timeout(), POLICY)
        after = db.current_time()
        assert failed is not None
        if attempt in windows:
            assert failed.status == "pending"
            assert _delay_between(failed.run_at, before, after, *windows[attempt])
            reason = control.job_events(db, job.id)[-1].reason
            assert _retry_parts(reason)[:2] == (attempt + 1, 3)

    final = job_row(db, job.id)
    assert (final.status, final.attempt, final.error_code) == (
        "failed",
        3,
        "llm_timeout",
    )
    assert final.finished_at is not None
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.to_status) == ("failed", "failed")
    assert last.reason == "The writer did not answer. No attempts left."


def test_non_retryable_failure_fails_at_once(db: Database) -> None:
    """An error that is not retryable ends the job on its first attempt."""
    job = queue.enqueue(db, KIND, max_attempts=5).job
    _claim_one(db)
    error = JobError("publish_auth_failed", "The site refused the password.")

    failed = attempts.fail(db, job.id, 1, "stage_a", error, POLICY)

    assert failed is not None
    assert (failed.status, failed.attempt, failed.error_code) == (
        "failed",
        1,
        "publish_auth_failed",
    )
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.code) == ("failed", "publish_auth_failed")
    assert last.reason == "The site refused the password."


def test_retry_after_from_the_cause_is_a_lower_bound(db: Database) -> None:
    """A cause that says when to retry is never retried sooner."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)
    before = db.current_time()
    error = JobError(
        "llm_rate_limited", "Too many requests.", retryable=True, retry_after=300
    )

    failed = attempts.fail(db, job.id, 1, "stage_a", error, POLICY)

    assert failed is not None and failed.status == "pending"
    assert failed.run_at >= before + timedelta(seconds=299)


def test_retried_job_is_not_claimed_before_its_run_at(db: Database) -> None:
    """A job waiting for its retry stays pending until its backoff has passed."""
    job = queue.enqueue(db, KIND).job
    _claim_one(db)
    attempts.fail(db, job.id, 1, "stage_a", _timeout(), POLICY)

    assert queue.claim(db, "w1", [TWO_STAGE], limit=1, lease_seconds=LEASE) == []

    db.clock_offset = 11
    again = _claim_one(db)
    assert (again.id, again.attempt, again.error_code) == (job.id, 2, None)
