"""Errors as JSON with a stable code and a message, or as a page for browsers.

Bad input never becomes a 500: every error Autopilot raises on purpose maps to
a status here, and validation errors say which field was wrong.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from autopilot.accounts import AuthenticationFailed, LoginThrottled
from autopilot.errors import (
    AutopilotError,
    ConfigError,
    Conflict,
    DatabaseError,
    InvalidInput,
    NotFound,
)
from autopilot.jobs.queue import ActiveJobConflict

log = logging.getLogger(__name__)


class NotAuthenticated(AutopilotError):
    """No valid session or API token came with the request."""

    code = "not_authenticated"


class Forbidden(AutopilotError):
    """Signed in, but not allowed to do this."""

    code = "forbidden"


STATUS_BY_ERROR: tuple[tuple[type[AutopilotError], int], ...] = (
    (NotAuthenticated, 401),
    (AuthenticationFailed, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (ConfigError, 422),
    (LoginThrottled, 429),
    (DatabaseError, 503),
)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


def status_for(exc: AutopilotError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 400


def wants_json(request: Request) -> bool:
    """API and machine paths answer JSON; pages answer HTML."""
    path = request.url.path
    return path.startswith("/api/") or path in ("/healthz", "/metrics")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "Invalid request. " + "; ".join(parts) + "."


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a clean answer."""

    @app.exception_handler(AutopilotError)
    async def autopilot_error(request: Request, exc: AutopilotError) -> Response:
        status = status_for(exc)
        if not wants_json(request):
            return _page_error(request, exc, status)
        headers = {}
        body = error_body(exc.code, exc.message)
        if isinstance(exc, ActiveJobConflict):
            body["job"] = await run_in_threadpool(_job_json, request, exc)
        if isinstance(exc, LoginThrottled):
            headers["Retry-After"] = str(exc.retry_after)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(
        request: Request, exc: RequestValidationError
    ) -> Response:
        message = _describe_validation(exc)
        if not wants_json(request):
            return _page_error(request, InvalidInput(message), 422)
        return JSONResponse(error_body("invalid_request", message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 400:
            # A body that cannot even be parsed is bad input like any other.
            return JSONResponse(
                error_body("invalid_request", f"Invalid request. {message}."),
                status_code=422,
            )
        if not wants_json(request) and exc.status_code == 404:
            return _page_error(request, NotFound(message), 404)
        return JSONResponse(
            error_body(code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception(
            "unexpected error on %s %s",
            request.method,
            request.url.path,
            extra={"event": "web_error", "path": request.url.path},
        )
        return JSONResponse(
            error_body(
                "internal_error", "Something went wrong on our side; it was logged."
            ),
            status_code=500,
        )


def _job_json(request: Request, exc: ActiveJobConflict) -> dict[str, Any]:
    from autopilot.web.views import jobs_json, json_ready

    db = request.app.state.services.db
    return dict(json_ready(jobs_json(db, [exc.job])[0]))


def _page_error(request: Request, exc: AutopilotError, status: int) -> Response:
    if isinstance(exc, NotAuthenticated):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from autopilot.web.pages import render_error

    return render_error(request, exc, status)
