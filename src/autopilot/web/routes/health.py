"""/healthz for load balancers and /metrics for Prometheus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from autopilot.errors import DatabaseError
from autopilot.jobs import liveness
from autopilot.web.deps import ServicesDep
from autopilot.web.schemas import HealthOut

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Database unreachable."}},
)
def healthz(services: ServicesDep) -> Any:
    """Whether the database answers, and how many workers are alive."""
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "workers": 0,
        "embeddedWorker": services.worker is not None,
        "eventReader": services.broker.running,
    }
    try:
        alive = liveness.alive_workers(services.db, services.settings.lease_seconds)
    except DatabaseError:
        body |= {"status": "unavailable", "database": "unreachable"}
        return JSONResponse(body, status_code=503)
    body["workers"] = len(alive)
    return body


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: jobs by status, recoveries, durations, heartbeats."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
