"""Schemathesis against the app's own OpenAPI schema, as a logged-in client:
no 5xx, and every answer matches what the schema promises."""

from __future__ import annotations

import pytest
import schemathesis
from api_support import World
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from autopilot.db import Database
from autopilot.jobs import control, queue

EXAMPLES = 30
# The stream never ends by itself, so a generated request could not finish;
# test_events covers it.
SKIPPED = {("GET", "/api/client/autopilot/events")}


def _operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_dict(app.openapi())
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if (op.method.upper(), op.path) not in SKIPPED]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(
    app: FastAPI,
    live_url: str,
    world: World,
    db: Database,
    mode: GenerationMode,
) -> None:
    """Generated requests, valid and invalid, never get a 5xx or an answer
    outside the schema."""
    for _ in range(3):
        job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
        control.cancel(db, job.id)
    operations = _operations(app)
    assert len(operations) >= 7

    for operation in operations:
        has_input = operation.path_parameters or operation.query or operation.body
        if mode is GenerationMode.NEGATIVE and not has_input:
            continue  # nothing in this request can be made invalid

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live_url, headers=world.alice.headers)

        check()
