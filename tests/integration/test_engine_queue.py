"""Enqueue, run now, claim and heartbeat, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from engine_support import (
    LEASE,
    TWO_STAGE,
    Background,
    claim_in,
    count_events,
    count_jobs,
    event_names,
    job_row,
    new_project,
    row_held,
)

from autopilot.db import Database
from autopilot.jobs import control, liveness, queue
from autopilot.jobs.queue import ActiveJobConflict, Enqueued
from autopilot.jobs.records import JobRecord, jobs_table

KIND = TWO_STAGE.name


def _claim(db: Database, worker_id: str = "w1", limit: int = 1) -> list[JobRecord]:
    return queue.claim(db, worker_id, [TWO_STAGE], limit=limit, lease_seconds=LEASE)


def _close(value: datetime | None, expected: datetime) -> bool:
    """Whether a timestamp is within a second of what was expected."""
    return value is not None and abs(value - expected) < timedelta(seconds=1)


# Enqueue ------------------------------------------------------------------


def test_enqueue_creates_pending_job_with_event(db: Database) -> None:
    """A new job is pending, due now, at attempt 0, with an "enqueued" event."""
    project = new_project(db)

    outcome = queue.enqueue(db, KIND, project_id=project, payload={"k": 1})

    job = outcome.job
    assert outcome.created
    assert (job.status, job.attempt, job.max_attempts) == ("pending", 0, 3)
    assert job.payload == {"k": 1}
    assert job.run_at <= db.current_time()
    events = control.job_events(db, job.id)
    assert [(e.event, e.from_status, e.to_status) for e in events] == [
        ("enqueued", None, "pending")
    ]


def test_second_enqueue_for_project_returns_the_active_job(db: Database) -> None:
    """A project with an active job gets that job back, created=False."""
    project = new_project(db)
    first = queue.enqueue(db, KIND, project_id=project)

    second = queue.enqueue(db, KIND, project_id=project, payload={"other": True})

    assert not second.created
    assert second.job.id == first.job.id
    assert count_jobs(db, project_id=project) == 1


def test_partial_unique_index_refuses_a_second_active_job(db: Database) -> None:
    """The one-active-job rule holds in the database itself, not only in code."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project).job
    now = db.current_time()

    with pytest.raises(sa.exc.IntegrityError), db.write() as conn:
        conn.execute(
            jobs_table.insert().values(
                kind=KIND,
                project_id=project,
                status="running",
                run_at=now,
                created_at=now,
                payload={},
            )
        )

    assert count_jobs(db, project_id=project) == 1
    assert job_row(db, job.id).status == "pending"


def test_enqueue_after_the_active_job_finished_creates_a_new_one(
    db: Database,
) -> None:
    """Finished jobs do not hold the project's place."""
    project = new_project(db)
    first = queue.enqueue(db, KIND, project_id=project).job
    control.cancel(db, first.id)

    second = queue.enqueue(db, KIND, project_id=project)

    assert second.created
    assert second.job.id != first.id
    assert count_jobs(db, project_id=project) == 2


def test_jobs_without_project_are_not_limited(db: Database) -> None:
    """Any number of jobs without a project may be active at once."""
    outcomes = [queue.enqueue(db, KIND) for _ in range(3)]

    assert all(outcome.created for outcome in outcomes)
    assert len({outcome.job.id for outcome in outcomes}) == 3
    assert count_jobs(db, status="pending") == 3


def test_dedupe_key_is_used_once(db: Database) -> None:
    """A second enqueue with the same key returns the first job, even finished."""
    first = queue.enqueue(db, KIND, dedupe_key="nightly-2024-05-01")
    again = queue.enqueue(db, KIND, dedupe_key="nightly-2024-05-01")
    control.cancel(db, first.job.id)
    after_finish = queue.enqueue(db, KIND, dedupe_key="nightly-2024-05-01")
    other = queue.enqueue(db, KIND, dedupe_key="nightly-2024-05-02")

    assert first.created and other.created
    assert not again.created and again.job.id == first.job.id
    assert not after_finish.created and after_finish.job.id == first.job.id
    assert count_jobs(db) == 2


# Run now ------------------------------------------------------------------


def test_run_now_moves_a_scheduled_pending_job_to_now(db: Database) -> None:
    """Run now on a pending job scheduled later moves its run_at to now."""
    project = new_project(db)
    scheduled = queue.enqueue(db, KIND, project_id=project, delay_seconds=3600).job

    outcome = queue.run_now(db, KIND, project)

    assert not outcome.created
    assert outcome.job.id == scheduled.id
    assert outcome.job.run_at < scheduled.run_at
    assert outcome.job.run_at <= db.current_time()
    assert event_names(db, scheduled.id) == ["enqueued", "run_now"]
    last = control.job_events(db, scheduled.id)[-1]
    assert (last.from_status, last.to_status) == ("pending", "pending")


def test_run_now_on_a_due_pending_job_changes_nothing(db: Database) -> None:
    """A job already due keeps its run_at and gets no run_now event."""
    project = new_project(db)
    due = queue.enqueue(db, KIND, project_id=project).job

    outcome = queue.run_now(db, KIND, project)

    assert outcome.job.run_at == due.run_at
    assert event_names(db, due.id) == ["enqueued"]


def test_run_now_on_a_running_job_raises_conflict_with_the_job(
    db: Database,
) -> None:
    """Run now while the project's job runs answers ActiveJobConflict with it."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project).job
    _claim(db)

    with pytest.raises(ActiveJobConflict) as caught:
        queue.run_now(db, KIND, project)

    assert caught.value.job.id == job.id
    assert caught.value.job.status == "running"
    assert caught.value.code == "job_active"
    assert "stage_a" in caught.value.message
    assert count_jobs(db, project_id=project) == 1


def test_concurrent_run_now_creates_exactly_one_job(db: Database) -> None:
    """Fifty simultaneous run-now clicks for one project start one job."""
    project = new_project(db)
    parties = 50
    barrier = threading.Barrier(parties)
    outcomes: list[Enqueued] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def click() -> None:
        barrier.wait(timeout=30)
        try:
            outcome = queue.run_now(db, KIND, project)
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=click) for _ in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(outcomes) == parties
    assert sum(outcome.created for outcome in outcomes) == 1
    assert len({outcome.job.id for outcome in outcomes}) == 1
    assert count_jobs(db) == 1
    assert count_jobs(db, project_id=project) == 1


# Claim --------------------------------------------------------------------


def test_claim_starts_an_attempt_in_the_first_stage(db: Database) -> None:
    """A claim sets attempt, worker, start, lease, first stage and its deadline."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project).job
    before = db.current_time()

    [claimed] = _claim(db, "worker-a")

    after = db.current_time()
    assert claimed.id == job.id
    assert (claimed.status, claimed.attempt) == ("running", 1)
    assert (claimed.worker_id, claimed.stage) == ("worker-a", "stage_a")
    assert claimed.shown_status == "stage_a"
    assert claimed.started_at is not None
    assert before <= claimed.started_at <= after
    # PostgreSQL's clock_timestamp() moves on within one statement.
    start = claimed.started_at
    assert _close(claimed.heartbeat_at, start)
    assert _close(claimed.lease_expires_at, start + timedelta(seconds=LEASE))
    assert _close(claimed.stage_started_at, start)
    assert _close(claimed.stage_deadline_at, start + timedelta(seconds=60))
    assert job_row(db, job.id) == claimed
    last = control.job_events(db, job.id)[-1]
    assert (last.event, last.from_status, last.to_status) == (
        "claimed",
        "pending",
        "stage_a",
    )
    assert last.reason == "Attempt 1 of 3 started by worker worker-a."


def test_claim_skips_jobs_not_yet_due(db: Database) -> None:
    """A job enqueued with a delay is not claimed until the clock reaches it."""
    before = db.current_time()
    job = queue.enqueue(db, KIND, delay_seconds=60).job
    assert job.run_at >= before + timedelta(seconds=59)

    assert _claim(db) == []

    db.clock_offset = 61
    [claimed] = _claim(db)
    assert claimed.id == job.id


def test_claim_of_one_job_leaves_every_other_due_job(db: Database) -> None:
    """A claim named for one job takes that job, even behind older due ones."""
    older = queue.enqueue(db, KIND).job
    wanted = queue.enqueue(db, KIND).job

    [claimed] = queue.claim(
        db, "w1", [TWO_STAGE], limit=5, lease_seconds=LEASE, only_job_id=wanted.id
    )

    assert claimed.id == wanted.id
    assert control.get_job(db, older.id).status == "pending"


def test_claim_takes_due_jobs_of_its_kinds_oldest_first_up_to_limit(
    db: Database,
) -> None:
    """Claims honour the limit, take jobs in run_at order, skip other kinds."""
    other = queue.enqueue(db, "something_else", delay_seconds=-60).job
    later = queue.enqueue(db, KIND, delay_seconds=-5).job
    earlier = queue.enqueue(db, KIND, delay_seconds=-10).job
    last = queue.enqueue(db, KIND).job

    claimed = _claim(db, limit=2)

    assert {job.id for job in claimed} == {earlier.id, later.id}
    assert job_row(db, last.id).status == "pending"
    assert job_row(db, other.id).status == "pending"


def test_racing_claimers_never_get_the_same_job(db: Database) -> None:
    """Several workers claiming at once split the due jobs without overlap."""
    total, claimers = 30, 4
    ids = {queue.enqueue(db, KIND).job.id for _ in range(total)}
    barrier = threading.Barrier(claimers)
    taken: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(worker_id: str) -> None:
        barrier.wait(timeout=30)
        mine: list[int] = []
        try:
            while batch := _claim(db, worker_id, limit=2):
                mine.extend(job.id for job in batch)
        except BaseException as exc:
            errors.append(exc)
        taken[worker_id] = mine

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    claimed = [job_id for mine in taken.values() for job_id in mine]
    assert sorted(claimed) == sorted(ids)
    for worker_id, mine in taken.items():
        for job_id in mine:
            job = job_row(db, job_id)
            assert (job.worker_id, job.attempt) == (worker_id, 1)
    assert count_events(db) == 2 * total


# Heartbeat ----------------------------------------------------------------


def test_heartbeat_renews_every_lease_of_the_worker_in_one_call(
    db: Database,
) -> None:
    """One heartbeat renews all of a worker's running jobs and no one else's."""
    for _ in range(4):
        queue.enqueue(db, KIND)
    mine = _claim(db, "w1", limit=3)
    [theirs] = _claim(db, "w2")
    db.clock_offset = 10

    held = queue.heartbeat(db, "w1", LEASE)

    assert set(held) == {job.id for job in mine}
    assert all(state == queue.LeaseState(1, False) for state in held.values())
    for job in mine:
        renewed = job_row(db, job.id)
        assert renewed.heartbeat_at is not None
        assert renewed.lease_expires_at is not None
        assert job.lease_expires_at is not None
        assert renewed.lease_expires_at >= job.lease_expires_at + timedelta(seconds=9)
        expected = renewed.heartbeat_at + timedelta(seconds=LEASE)
        assert _close(renewed.lease_expires_at, expected)
    assert job_row(db, theirs.id) == theirs
    assert queue.heartbeat(db, "idle", LEASE) == {}


def test_heartbeat_reports_cancel_requested(db: Database) -> None:
    """A heartbeat tells the worker which of its jobs were asked to cancel."""
    for _ in range(2):
        queue.enqueue(db, KIND)
    first, second = _claim(db, "w1", limit=2)
    control.cancel(db, second.id)

    held = queue.heartbeat(db, "w1", LEASE)

    assert held == {
        first.id: queue.LeaseState(attempt=1, cancel_requested=False),
        second.id: queue.LeaseState(attempt=1, cancel_requested=True),
    }


def test_run_now_racing_a_claim_answers_conflict(db: Database) -> None:
    """Run now that meets a claim in flight answers ActiveJobConflict, not a crash."""
    project = new_project(db)
    job = queue.enqueue(db, KIND, project_id=project, delay_seconds=60).job

    with row_held(db, job.id) as conn:
        clicking = Background(lambda: queue.run_now(db, KIND, project))
        time.sleep(0.3)
        claim_in(conn, db, job.id, "w1")

    with pytest.raises(ActiveJobConflict) as caught:
        clicking.join()
    assert (caught.value.job.id, caught.value.job.status) == (job.id, "running")
    assert count_jobs(db) == 1


def test_heartbeat_never_undoes_a_workers_own_shutdown(db: Database) -> None:
    """A late beat revives a worker wrongly declared dead, not one that stopped."""
    for worker_id in ("w-dead", "w-done"):
        liveness.register(db, worker_id, lock_key=1, concurrency=1, kinds=[KIND])
    liveness.mark_stopped(db, "w-dead", "dead: no heartbeat for more than 30 s")
    liveness.mark_stopped(db, "w-done", "shut down")

    queue.heartbeat(db, "w-dead", LEASE)
    queue.heartbeat(db, "w-done", LEASE)

    workers = {w.id: w for w in liveness.list_workers(db, include_stopped=True)}
    assert (workers["w-dead"].stopped_at, workers["w-dead"].stop_reason) == (None, None)
    assert workers["w-done"].stopped_at is not None
    assert workers["w-done"].stop_reason == "shut down"
