"""What the API routes share: error responses for OpenAPI and id limits."""

from __future__ import annotations

from typing import Any

from autopilot.web.schemas import ConflictOut, ErrorOut

API_PREFIX = "/api/client/autopilot"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route can answer with."""
    described = {
        401: "Not logged in and no valid API token.",
        403: "CSRF token missing or wrong (cookie sessions only).",
        404: "No such thing, or it belongs to another client.",
        409: "Conflicts with the current state; nothing was changed.",
        422: "The request is not valid; the message says why.",
        503: "The database is unreachable.",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in (401, 403, 422, 503, *statuses):
        model = ConflictOut if status == 409 else ErrorOut
        out[status] = {"model": model, "description": described[status]}
    return out
