"""GET /api/client/autopilot/events: job changes as Server-Sent Events.

Every message carries ``id:``, so a browser that reconnects sends
Last-Event-ID and gets what it missed from the database before going live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from autopilot.errors import InvalidInput
from autopilot.jobs import control
from autopilot.web.broker import EventBroker, reset_message
from autopilot.web.deps import AccessDep
from autopilot.web.routes.common import API_PREFIX, error_responses
from autopilot.web.schemas import MAX_JOB_ID, MAX_PROJECT_ID

router = APIRouter(prefix=API_PREFIX, tags=["events"])

HEARTBEAT_SECONDS = 15.0
RECONNECT_MILLISECONDS = 1000

EVENT_STREAM_DOC = (
    "A stream of `event: job` messages. Each has `id:` (the event's id) and "
    "`data:` with the event (jobId, projectId, event, from, to, attempt, code, "
    "reason, progress, at) and `job`, the job's current state (null once "
    "deleted). `event: reset` means too much was missed to replay: fetch the "
    "job list again. A comment line is sent every 15 s."
)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": EVENT_STREAM_DOC,
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(404),
    },
)
async def stream_events(
    access: AccessDep,
    project_id: Annotated[
        int | None,
        Query(alias="projectId", ge=1, le=MAX_PROJECT_ID, description="Only this one."),
    ] = None,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_JOB_ID,
            description="Replay events after this id first (when no Last-Event-ID).",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=20)
    ] = None,
) -> StreamingResponse:
    """Live job changes for your projects (or one project)."""
    scope = await run_in_threadpool(access.scope, project_id)
    resume = _resume_point(last_event_id, after)
    return StreamingResponse(
        _stream(access.services.broker, scope, resume),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    value = last_event_id.strip()
    if not value.isdigit() or int(value) > MAX_JOB_ID:
        raise InvalidInput(
            "Last-Event-ID must be the id of an event this stream sent.",
            code="invalid_last_event_id",
        )
    return int(value)


async def _stream(
    broker: EventBroker, scope: list[int] | None, resume: int | None
) -> AsyncIterator[str]:
    # Subscribe before replaying, so nothing falls between the two; what
    # both deliver is sent once.
    sub = broker.subscribe(scope)
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n: connected\n\n"
        covered, replayed_ids = -1, set[int]()
        if resume is not None:
            replayed = await run_in_threadpool(broker.replay, resume, scope)
            if replayed is None:
                covered = await run_in_threadpool(control.last_event_id, broker.db)
                yield reset_message(covered)
            else:
                covered = resume
                for message in replayed:
                    replayed_ids.add(message.id)
                    yield message.text
        while True:
            try:
                batch = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if batch is None:
                return
            for message in batch:
                if message.id > covered and message.id not in replayed_ids:
                    yield message.text
    finally:
        broker.unsubscribe(sub)
