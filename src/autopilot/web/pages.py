"""Rendering pages: the shared context every template gets, and error pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from autopilot.accounts import Account
from autopilot.errors import AutopilotError
from autopilot.web.i18n import Translator, negotiate


def render(
    request: Request,
    template: str,
    t: Translator,
    *,
    account: Account | None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A page with what the layout needs: words, user, CSRF token, nav."""
    services = request.app.state.services
    session = services.sessions.read(request)
    return services.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        template,
        {
            "t": t,
            "lang": t.language,
            "account": account,
            "csrf_token": session.csrf if session else "",
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )


def render_error(request: Request, exc: AutopilotError, status: int) -> Response:
    """An error as a page, in the browser's language."""
    t = Translator(negotiate(None, request.headers.get("accept-language")))
    title_key = {404: "not_found_title", 403: "forbidden_title"}.get(
        status, "error_title"
    )
    message = t("not_found_body") if status == 404 else exc.message
    return render(
        request,
        "error.html",
        t,
        account=None,
        status=status,
        title=t(title_key),
        message=message,
        code=exc.code,
    )


def safe_next(target: str | None, default: str = "/client-portal/autopilot") -> str:
    """A local path to go to after logging in; never another site."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 500
    ):
        return default
    return target
