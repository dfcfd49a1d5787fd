"""Job records: the status people are shown, and active versus finished."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopilot.errors import Conflict
from autopilot.jobs.queue import ActiveJobConflict
from autopilot.jobs.records import JobRecord, shown
from autopilot.models import ACTIVE_STATUSES, FINISHED_STATUSES

NOON = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
STATUSES = (*ACTIVE_STATUSES, *FINISHED_STATUSES)


def make_job(**changes: Any) -> JobRecord:
    """A pending autopilot run, with ``changes`` applied."""
    job = JobRecord(
        id=7,
        kind="autopilot_run",
        project_id=3,
        status="pending",
        stage=None,
        payload={},
        result=None,
        run_at=NOON,
        attempt=0,
        max_attempts=3,
        worker_id=None,
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
        lease_expires_at=None,
        stage_started_at=None,
        stage_deadline_at=None,
        progress=0,
        progress_message=None,
        cancel_requested=False,
        error_code=None,
        error_message=None,
        dedupe_key=None,
        created_at=NOON,
    )
    return dataclasses.replace(job, **changes)


def test_running_job_shows_its_stage() -> None:
    """A running job is shown as the stage it is in: generating, publishing."""
    assert make_job(status="running", stage="generating").shown_status == "generating"
    assert make_job(status="running", stage="publishing").shown_status == "publishing"


def test_running_job_without_stage_shows_running() -> None:
    """A running job that names no stage falls back to the engine status."""
    assert make_job(status="running", stage=None).shown_status == "running"


@pytest.mark.parametrize("status", ["pending", *FINISHED_STATUSES])
def test_other_statuses_are_shown_as_they_are(status: str) -> None:
    """Pending and finished jobs show their status, whatever stage they ended in."""
    assert make_job(status=status, stage="publishing").shown_status == status


@settings(deadline=None)
@given(status=st.sampled_from(STATUSES), stage=st.none() | st.text(max_size=12))
def test_shown_status_agrees_with_the_shown_helper(
    status: str, stage: str | None
) -> None:
    """The record's property and the event log's helper never disagree."""
    assert make_job(status=status, stage=stage).shown_status == shown(status, stage)


@settings(deadline=None)
@given(status=st.sampled_from(STATUSES))
def test_every_status_is_either_active_or_finished(status: str) -> None:
    """Active (pending, running) and finished (the rest) split all statuses."""
    job = make_job(status=status)

    assert job.is_active != job.is_finished
    assert job.is_active == (status in ("pending", "running"))


def test_record_reads_from_a_mapping_row() -> None:
    """from_row takes exactly the record's fields from a row mapping."""
    job = make_job(status="running", stage="generating", attempt=2)
    row = {**dataclasses.asdict(job), "extra_column": "ignored"}

    assert JobRecord.from_row(row) == job


def test_active_job_conflict_names_the_job_and_when_it_started() -> None:
    """The 409 message says which job runs, in which stage, since when."""
    started = datetime(2024, 5, 1, 9, 30, 5, tzinfo=UTC)
    job = make_job(status="running", stage="generating", started_at=started)

    conflict = ActiveJobConflict(job)

    assert isinstance(conflict, Conflict)
    assert conflict.job is job
    assert conflict.code == "job_active"
    assert "Job 7" in conflict.message
    assert "generating" in conflict.message
    assert "09:30:05 UTC" in conflict.message
