"""The JSON the API speaks: camelCase fields, as in the portal's first version."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

MAX_PROJECT_ID = 2**31 - 1
MAX_JOB_ID = 2**63 - 1


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )


class ErrorOut(ApiModel):
    """Every error: a stable code for programs and a message for people."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["There is no job 12."])


class ArticleOut(ApiModel):
    """The article a run wrote; ``url`` is set once it is published."""

    id: int | None
    title: str
    url: str | None


class JobOut(ApiModel):
    """A job as people see it: ``status`` is the running stage while it runs."""

    id: int
    project_id: int | None
    kind: str
    status: str = Field(
        description="pending, generating, publishing (or another running stage), "
        "completed, failed or cancelled."
    )
    stage: str | None
    progress: int = Field(ge=0, le=100)
    progress_message: str | None
    attempt: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None = Field(description="What went wrong, in words (English).")
    error_code: str | None = Field(
        description="Stable error code: worker_lost, stage_timeout, cancelled, ..."
    )
    cancel_requested: bool
    article: ArticleOut | None


class ConflictOut(ErrorOut):
    """A conflict with the current state; ``job`` is the job in the way."""

    job: JobOut | None = None


class EventOut(ApiModel):
    """One transition from a job's history."""

    id: int
    job_id: int
    project_id: int | None
    event: str
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    attempt: int
    code: str | None
    reason: str | None
    progress: int | None
    at: datetime


class JobDetail(JobOut):
    """A job with its history, oldest event first."""

    events: list[EventOut]


class JobPage(ApiModel):
    """One page of jobs, newest first; pass ``nextCursor`` as ``cursor`` for more."""

    jobs: list[JobOut]
    next_cursor: str | None


class ProjectOut(ApiModel):
    """A project with what the portal's status card shows."""

    id: int
    name: str
    slug: str
    client_id: int
    site_url: str | None
    language: str
    timezone: str
    autopilot_enabled: bool
    schedule: str | None = Field(description="Five-field cron, in ``timezone``.")
    next_run_at: datetime | None
    active_job: JobOut | None
    last_job: JobOut | None = Field(description="The newest finished job.")


class ProjectList(ApiModel):
    projects: list[ProjectOut]


class RunRequest(ApiModel):
    """Which project to run now."""

    model_config = ConfigDict(extra="forbid")

    project_id: int = Field(ge=1, le=MAX_PROJECT_ID)


class CancelPatch(ApiModel):
    """Cancel: a pending job at once, a running one at its next heartbeat."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["cancelled"]


class RetryPatch(ApiModel):
    """Run a failed or cancelled job again, as a new job."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["retry"]


class HealthOut(ApiModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    workers: int = Field(description="Workers alive now (heartbeat within a lease).")
    embedded_worker: bool
    event_reader: bool
