"""Jobs: list, run now, look at one, cancel or retry it, delete it.

A client never sets a status: PATCH accepts only a cancel or a retry, and the
server decides every other transition.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response

from autopilot.errors import InvalidInput
from autopilot.jobs import control
from autopilot.pipeline.runs import request_run
from autopilot.web.deps import AccessDep
from autopilot.web.routes.common import API_PREFIX, error_responses
from autopilot.web.schemas import (
    MAX_JOB_ID,
    MAX_PROJECT_ID,
    CancelPatch,
    JobDetail,
    JobOut,
    JobPage,
    RetryPatch,
    RunRequest,
)
from autopilot.web.views import event_json, jobs_json

router = APIRouter(prefix=API_PREFIX, tags=["jobs"])

JobId = Annotated[int, Path(ge=1, le=MAX_JOB_ID, description="The job's id.")]

StatusFilter = Literal[
    "pending", "generating", "publishing", "running", "completed", "failed", "cancelled"
]

PATCH_RULE = (
    'Send either {"status": "cancelled"} to cancel the job, or {"action": "retry"} '
    "to run a failed or cancelled job again. Nothing else can be changed: the "
    "server owns every other status."
)


@router.get("/jobs", response_model=JobPage, responses=error_responses(404))
def list_jobs(
    access: AccessDep,
    project_id: Annotated[
        int | None,
        Query(alias="projectId", ge=1, le=MAX_PROJECT_ID, description="Only this one."),
    ] = None,
    status: Annotated[
        StatusFilter | None,
        Query(description="Only jobs in this status (running: any stage)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9][0-9]{0,18}$",
            description="The nextCursor of the previous page, for older jobs.",
        ),
    ] = None,
) -> dict[str, Any]:
    """Jobs newest first, a page at a time."""
    scope = access.scope(project_id)
    before_id = _parse_cursor(cursor)
    access.recover(project_id)
    found = control.list_jobs(
        access.db,
        project_ids=scope,
        status=status,
        limit=limit + 1,
        before_id=before_id,
    )
    page = found[:limit]
    more = len(found) > limit
    return {
        "jobs": jobs_json(access.db, page),
        "nextCursor": str(page[-1].id) if more and page else None,
    }


def _parse_cursor(cursor: str | None) -> int | None:
    """The id to page below; past the largest id it means "from the newest"."""
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise InvalidInput(
            f"Invalid cursor {cursor!r}: pass the nextCursor of a previous page.",
            code="invalid_cursor",
        )
    return min(int(cursor), MAX_JOB_ID)


@router.post(
    "/run",
    status_code=202,
    response_model=JobOut,
    responses=error_responses(404, 409),
)
def run_now(access: AccessDep, body: RunRequest) -> dict[str, Any]:
    """Nu uitvoeren: start the project's run now.

    Creates a run, or starts the project's pending run now (both 202). While a
    run is generating or publishing the answer is 409 with that job.
    """
    access.project(body.project_id)
    access.recover(body.project_id)
    outcome = request_run(access.db, access.settings, body.project_id)
    return jobs_json(access.db, [outcome.job])[0]


@router.get("/jobs/{job_id}", response_model=JobDetail, responses=error_responses(404))
def get_job(access: AccessDep, job_id: JobId) -> dict[str, Any]:
    """One job with its history, oldest event first."""
    job = access.job(job_id)
    access.recover(job.project_id)
    job = access.job(job_id)
    events = control.job_events(access.db, job_id)
    return {
        **jobs_json(access.db, [job])[0],
        "events": [event_json(event) for event in events],
    }


@router.patch(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={
        **error_responses(404, 409),
        202: {"model": JobOut, "description": "Retried: the new job."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            CancelPatch.model_json_schema(by_alias=True),
                            RetryPatch.model_json_schema(by_alias=True),
                        ]
                    }
                }
            },
        }
    },
)
def patch_job(
    access: AccessDep,
    job_id: JobId,
    response: Response,
    body: Annotated[Any, Body()] = None,
) -> dict[str, Any]:
    """Cancel a job (200) or retry a failed or cancelled one as a new job (202)."""
    change = _parse_patch(body)
    job = access.job(job_id)
    if isinstance(change, CancelPatch):
        cancelled = control.cancel(access.db, job.id, by="request in the portal")
        return jobs_json(access.db, [cancelled])[0]
    access.recover(job.project_id)
    retried = control.retry(
        access.db, job.id, max_attempts=access.settings.max_attempts
    )
    response.status_code = 202
    return jobs_json(access.db, [retried])[0]


def _parse_patch(body: Any) -> CancelPatch | RetryPatch:
    if isinstance(body, dict):
        if body == {"status": "cancelled"}:
            return CancelPatch(status="cancelled")
        if body == {"action": "retry"}:
            return RetryPatch(action="retry")
    raise InvalidInput(PATCH_RULE, code="patch_not_allowed")


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404, 409),
)
def delete_job(access: AccessDep, job_id: JobId) -> Response:
    """Delete a finished job; its history stays in the event log."""
    job = access.job(job_id)
    control.delete(access.db, job.id)
    return Response(status_code=204)
