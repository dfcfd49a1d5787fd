"""Random sequences of engine operations, checked against the engine's rules.

One database per test (SQLite and PostgreSQL); each Hypothesis example starts
from empty job tables, so examples do not see each other's jobs. Between steps
only the machine writes, so the state read by the invariant check after one
step is the state the next step starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa
from engine_support import TWO_STAGE, new_project
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from autopilot.db import Database
from autopilot.errors import Conflict, JobError
from autopilot.jobs import attempts, control, liveness, queue, reaper
from autopilot.jobs.queue import ActiveJobConflict
from autopilot.jobs.records import JobRecord, events_table, jobs_table
from autopilot.jobs.retry import RetryPolicy

KIND = TWO_STAGE.name
WORKERS = ("w1", "w2")
LEASE = 20.0
POLICY = RetryPolicy(base_seconds=2, max_seconds=8)
STAGE_B_LIMIT = TWO_STAGE.stage("stage_b").timeout_seconds
KEEPS_ATTEMPT = ("progress", "cancel_requested")
STALE_WRITES = ("complete", "fail", "progress", "advance", "acknowledge", "release")


@dataclass
class Attempt:
    """What one fake worker believes it holds: a job, its attempt, its stage."""

    job_id: int
    attempt: int
    worker_id: str
    stage: str


@dataclass
class State:
    """The jobs, the newest event of each, and the length of the event log."""

    jobs: dict[int, JobRecord] = field(default_factory=dict)
    last_events: dict[int, sa.RowMapping] = field(default_factory=dict)
    event_count: int = 0

    def active(self, project_id: int) -> JobRecord | None:
        return next(
            (
                j
                for j in self.jobs.values()
                if j.project_id == project_id and j.is_active
            ),
            None,
        )

    def running(self) -> list[int]:
        return sorted(job.id for job in self.jobs.values() if job.status == "running")

    def holds(self, attempt: Attempt) -> bool:
        """Whether the attempt is the job's current one, in the stage it believes."""
        job = self.jobs.get(attempt.job_id)
        return (
            job is not None
            and job.status == "running"
            and job.attempt == attempt.attempt
            and job.stage == attempt.stage
        )


class EngineLifeCycle(RuleBasedStateMachine):
    """Drives enqueue, claim, heartbeat, writes, cancel, reap and the clock."""

    db: ClassVar[Database]
    projects: ClassVar[list[int]]

    def __init__(self) -> None:
        super().__init__()
        with self.db.write() as conn:
            for table in (events_table, jobs_table, liveness.workers_table):
                conn.execute(sa.delete(table))
        self.db.clock_offset = 0.0
        self.state = State()
        self.attempts: list[Attempt] = []
        self.finished: dict[int, JobRecord] = {}
        self.highest_attempt: dict[int, int] = {}
        self.cancel_asked: set[int] = set()
        self.recovered: set[tuple[int, int]] = set()

    # Reading the state ----------------------------------------------------

    def read(self) -> State:
        newest = sa.select(sa.func.max(events_table.c.id)).group_by(
            events_table.c.job_id
        )
        with self.db.read() as conn:
            rows = conn.execute(sa.select(jobs_table)).mappings().all()
            events = conn.execute(
                sa.select(events_table).where(events_table.c.id.in_(newest))
            ).mappings()
            last = {event["job_id"]: event for event in events}
            count = conn.execute(sa.select(sa.func.count(events_table.c.id)))
            return State(
                {row["id"]: JobRecord.from_row(row) for row in rows},
                last,
                int(count.scalar_one()),
            )

    def stale(self) -> list[Attempt]:
        """Attempts that lost their job, and current ones naming a past stage."""
        lost = [a for a in self.attempts if not self.state.holds(a)]
        past = [
            Attempt(a.job_id, a.attempt, a.worker_id, "stage_a")
            for a in self.attempts
            if a.stage == "stage_b" and self.state.holds(a)
        ]
        return lost + past

    def fenced(self, attempt: Attempt, write: Callable[[], Any]) -> Any:
        """Run a fenced write: it succeeds exactly when the attempt is current."""
        before = self.state
        current = before.holds(attempt)

        outcome = write()

        assert bool(outcome) == current, (attempt, before.jobs[attempt.job_id])
        if not current:
            after = self.read()
            assert after.jobs[attempt.job_id] == before.jobs[attempt.job_id]
            assert after.event_count == before.event_count
        return outcome

    # Enqueue and run now --------------------------------------------------

    @initialize()
    def some_jobs_are_running(self) -> None:
        for project_id in self.projects[:2]:
            queue.enqueue(self.db, KIND, project_id=project_id)
        self.claim("w1", 2)
        self.state = self.read()

    @rule(project=st.integers(0, 2), delay=st.sampled_from([0.0, 0.0, 30.0]))
    def enqueue(self, project: int, delay: float) -> None:
        project_id = self.projects[project]
        holder = self.state.active(project_id)

        outcome = queue.enqueue(
            self.db, KIND, project_id=project_id, delay_seconds=delay
        )

        if holder is None:
            assert outcome.created
        else:
            assert not outcome.created and outcome.job.id == holder.id

    @rule()
    def enqueue_without_project(self) -> None:
        assert queue.enqueue(self.db, KIND).created

    @rule(project=st.integers(0, 2))
    def run_now(self, project: int) -> None:
        project_id = self.projects[project]
        holder = self.state.active(project_id)
        try:
            outcome = queue.run_now(self.db, KIND, project_id)
        except ActiveJobConflict as conflict:
            assert holder is not None and holder.status == "running"
            assert conflict.job.id == holder.id
            return
        if holder is None:
            assert outcome.created
            return
        assert holder.status == "pending" and not outcome.created
        assert outcome.job.id == holder.id
        assert outcome.job.run_at <= self.db.current_time()

    # Workers --------------------------------------------------------------

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 2))
    def claim(self, worker: str, limit: int) -> None:
        claimed = queue.claim(
            self.db, worker, [TWO_STAGE], limit=limit, lease_seconds=LEASE
        )
        for job in claimed:
            assert job.attempt > self.highest_attempt.get(job.id, 0)
            assert job.id not in self.cancel_asked, "a cancelled job ran again"
            assert (job.worker_id, job.stage) == (worker, "stage_a")
            self.attempts.append(Attempt(job.id, job.attempt, worker, "stage_a"))

    @rule(worker=st.sampled_from(WORKERS))
    def heartbeat(self, worker: str) -> None:
        held = queue.heartbeat(self.db, worker, LEASE)

        assert held == {
            job.id: queue.LeaseState(job.attempt, job.cancel_requested)
            for job in self.state.jobs.values()
            if job.status == "running" and job.worker_id == worker
        }

    @precondition(lambda self: self.attempts)
    @rule(data=st.data(), percent=st.integers(0, 100))
    def progress(self, data: st.DataObject, percent: int) -> None:
        attempt = data.draw(st.sampled_from(self.attempts))
        self.fenced(
            attempt,
            lambda: attempts.report_progress(
                self.db, attempt.job_id, attempt.attempt, attempt.stage, percent, "busy"
            ),
        )

    @precondition(lambda self: any(a.stage == "stage_a" for a in self.attempts))
    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        choices = [a for a in self.attempts if a.stage == "stage_a"]
        attempt = data.draw(st.sampled_from(choices))
        moved = self.fenced(
            attempt,
            lambda: attempts.advance_stage(
                self.db,
                attempt.job_id,
                attempt.attempt,
                "stage_a",
                "stage_b",
                timeout_seconds=STAGE_B_LIMIT,
            ),
        )
        if moved:
            attempt.stage = "stage_b"

    @precondition(lambda self: self.attempts)
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        attempt = data.draw(st.sampled_from(self.attempts))
        self.fenced(
            attempt,
            lambda: attempts.complete(
                self.db, attempt.job_id, attempt.attempt, attempt.stage, {"ok": 1}
            ),
        )

    @precondition(lambda self: self.attempts)
    @rule(data=st.data(), retryable=st.booleans())
    def fail(self, data: st.DataObject, retryable: bool) -> None:
        attempt = data.draw(st.sampled_from(self.attempts))
        before = self.state.jobs[attempt.job_id]
        error = JobError(
            "llm_timeout", "The writer did not answer.", retryable=retryable
        )

        ended = self.fenced(
            attempt,
            lambda: attempts.fail(
                self.db, attempt.job_id, attempt.attempt, attempt.stage, error, POLICY
            ),
        )

        if ended is None:
            return
        if before.cancel_requested:
            assert ended.status == "cancelled"
        elif retryable and before.attempt < before.max_attempts:
            assert ended.status == "pending"
        else:
            assert ended.status == "failed"

    @precondition(lambda self: self.attempts)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        attempt = data.draw(st.sampled_from(self.attempts))
        before = self.state.jobs[attempt.job_id]

        released = self.fenced(
            attempt,
            lambda: attempts.release(
                self.db, attempt.job_id, attempt.attempt, attempt.stage, "w"
            ),
        )

        if not released:
            return
        after = control.get_job(self.db, attempt.job_id)
        if before.cancel_requested:
            assert after.status == "cancelled"
        else:
            assert (after.status, after.attempt) == ("pending", before.attempt)
            assert after.max_attempts == before.max_attempts + 1

    @precondition(lambda self: self.stale())
    @rule(data=st.data(), write=st.sampled_from(STALE_WRITES))
    def stale_write(self, data: st.DataObject, write: str) -> None:
        attempt = data.draw(st.sampled_from(self.stale()))
        job_id, number, stage = attempt.job_id, attempt.attempt, attempt.stage
        error = JobError("late", "Too late.", retryable=True)
        calls: dict[str, Callable[[], Any]] = {
            "complete": lambda: attempts.complete(self.db, job_id, number, stage),
            "fail": lambda: attempts.fail(
                self.db, job_id, number, stage, error, POLICY
            ),
            "progress": lambda: attempts.report_progress(
                self.db, job_id, number, stage, 1, "late"
            ),
            "advance": lambda: attempts.advance_stage(
                self.db, job_id, number, stage, "stage_b", timeout_seconds=30
            ),
            "acknowledge": lambda: attempts.acknowledge_cancel(
                self.db, job_id, number, stage
            ),
            "release": lambda: attempts.release(
                self.db, job_id, number, stage, attempt.worker_id
            ),
        }

        outcome = self.fenced(attempt, calls[write])

        assert outcome is None or outcome is False

    # People and recovery --------------------------------------------------

    @precondition(lambda self: self.state.jobs)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.state.jobs)))
        before = self.state.jobs[job_id]
        try:
            after = control.cancel(self.db, job_id)
        except Conflict:
            assert before.is_finished
            return
        self.cancel_asked.add(job_id)
        if before.status == "pending":
            assert after.status == "cancelled"
        else:
            assert (after.status, after.cancel_requested) == ("running", True)

    @precondition(lambda self: self.state.running())
    @rule(data=st.data())
    def cancel_running(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(self.state.running()))

        after = control.cancel(self.db, job_id)

        self.cancel_asked.add(job_id)
        assert (after.status, after.cancel_requested) == ("running", True)

    @rule()
    def reap(self) -> None:
        for recovery in reaper.reap(self.db, POLICY, lease_seconds=LEASE):
            key = (recovery.job_id, recovery.attempt)
            assert key not in self.recovered, "an attempt was recovered twice"
            self.recovered.add(key)
            assert recovery.code in ("worker_lost", "stage_timeout", "cancelled")

    @rule(worker=st.sampled_from(WORKERS))
    def worker_is_lost_and_another_takes_over(self, worker: str) -> None:
        self.db.clock_offset += LEASE + POLICY.max_seconds + 1
        self.reap()
        self.claim(worker, 2)

    @rule(seconds=st.sampled_from([1.0, 5.0, LEASE + 1, 31.0, 61.0]))
    def advance_clock(self, seconds: float) -> None:
        self.db.clock_offset += seconds

    # Invariants -----------------------------------------------------------

    @invariant()
    def engine_rules_hold(self) -> None:
        state = self.read()
        self._one_active_job_per_project(state)
        self._finished_jobs_never_change(state)
        self._last_event_agrees_with_status(state)
        self._attempts_never_decrease(state)
        self.state = state

    def _one_active_job_per_project(self, state: State) -> None:
        active = [job.project_id for job in state.jobs.values() if job.is_active]
        projects = [project for project in active if project is not None]
        assert len(projects) == len(set(projects)), state.jobs

    def _finished_jobs_never_change(self, state: State) -> None:
        for job_id, snapshot in self.finished.items():
            assert state.jobs[job_id] == snapshot
        for job_id, job in state.jobs.items():
            if job.is_finished:
                self.finished.setdefault(job_id, job)

    def _last_event_agrees_with_status(self, state: State) -> None:
        assert set(state.last_events) == set(state.jobs)
        for job_id, job in state.jobs.items():
            event = state.last_events[job_id]
            assert event["to_status"] == job.shown_status, (event, job)
            if event["event"] not in KEEPS_ATTEMPT:
                assert event["attempt"] == job.attempt, (event, job)

    def _attempts_never_decrease(self, state: State) -> None:
        for job_id, job in state.jobs.items():
            assert job.attempt >= self.highest_attempt.get(job_id, 0)
            self.highest_attempt[job_id] = job.attempt


def test_engine_keeps_its_rules_under_random_operations(db: Database) -> None:
    """Any sequence of engine operations keeps the job engine's invariants."""

    class LifeCycle(EngineLifeCycle):
        pass

    LifeCycle.db = db
    LifeCycle.projects = [new_project(db) for _ in range(3)]

    run_state_machine_as_test(
        LifeCycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
            ],
        ),
    )
