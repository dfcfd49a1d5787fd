"""Logging in and out, and the user's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from autopilot.accounts import (
    LANGUAGES,
    AuthenticationFailed,
    LoginThrottled,
    authenticate,
    set_language,
)
from autopilot.errors import InvalidInput
from autopilot.web.deps import AccessDep, AccountDep, IdentityDep, ServicesDep
from autopilot.web.i18n import Translator, negotiate
from autopilot.web.pages import render, safe_next
from autopilot.web.sessions import new_session

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request,
    services: ServicesDep,
    t: Translator,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    session = services.sessions.read(request)
    fresh = session is None or session.user_id is not None
    if fresh:
        session = new_session()
    response = render(
        request,
        "login.html",
        t,
        account=None,
        status=status,
        next_path=next_path,
        email=email,
        error=error,
        csrf_token=session.csrf if session else "",
    )
    if fresh and session is not None:
        services.sessions.write(request, response, session)
    return response


def _login_translator(request: Request, lang: str | None) -> Translator:
    return Translator(negotiate(lang, request.headers.get("accept-language")))


@router.get("/login")
def login_form(
    request: Request,
    services: ServicesDep,
    account: AccountDep,
    next: str | None = None,
    lang: str | None = None,
) -> Response:
    if account is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    t = _login_translator(request, lang)
    return _login_page(request, services, t, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    identity: IdentityDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    t = _login_translator(request, lang or None)
    next_path = safe_next(next)
    if identity.session is None:
        # No cookie from the form page: a forged or stale post. Start over.
        return _login_page(
            request,
            services,
            t,
            next_path=next_path,
            email=email,
            error=t("session_expired"),
            status=400,
        )
    source = request.client.host if request.client else "unknown"
    try:
        services.login_failures.check(source)
        account = authenticate(services.db, email, password)
    except LoginThrottled as exc:
        message = t("login_throttled", seconds=exc.retry_after)
        response = _login_page(
            request,
            services,
            t,
            next_path=next_path,
            email=email,
            error=message,
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationFailed:
        services.login_failures.failed(source)
        return _login_page(
            request,
            services,
            t,
            next_path=next_path,
            email=email,
            error=t("login_failed"),
            status=401,
        )
    response = RedirectResponse(next_path, status_code=303)
    session = new_session(account.id, account.password_fingerprint)
    services.sessions.write(request, response, session)
    return response


@router.post("/logout")
def logout(services: ServicesDep, identity: IdentityDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    services.sessions.clear(response)
    return response


@router.post("/account/language")
def change_language(
    request: Request,
    access: AccessDep,
    language: Annotated[str, Form(max_length=5)],
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if language not in LANGUAGES:
        raise InvalidInput(f"Language must be one of {', '.join(LANGUAGES)}.")
    set_language(access.db, access.account.id, language)
    return RedirectResponse(safe_next(back), status_code=303)
