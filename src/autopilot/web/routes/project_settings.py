"""/client-portal/projects: a project's settings, schedule and content plan.

Plain HTML forms that post back and redirect, so they work with the keyboard
and without JavaScript. Secrets are write-only: the form says whether one is
set, never what it is.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autopilot.errors import AutopilotError, InvalidInput
from autopilot.models import Project
from autopilot.pipeline import keywords, projects
from autopilot.pipeline.targets import check_target_url
from autopilot.web.deps import Access, AccessDep, TranslatorDep, read_session
from autopilot.web.i18n import Translator
from autopilot.web.pages import render
from autopilot.web.routes.portal import ProjectParam, choose_project
from autopilot.web.schemas import MAX_PROJECT_ID

router = APIRouter(prefix="/client-portal/projects", include_in_schema=False)

ProjectId = Annotated[int, Path(ge=1, le=MAX_PROJECT_ID)]
KeywordId = Annotated[int, Path(ge=1, le=MAX_PROJECT_ID)]
Text = Annotated[str, Form(max_length=500)]
MAX_IMPORT_BYTES = 1_000_000

SECRET_FIELDS = {
    "writer_api_key": "writer_api_key",
    "publisher_app_password": "publisher_app_password",
    "publisher_secret": "publisher_secret",
}
_TIMEZONES = sorted(available_timezones())


@router.get("")
def settings_page(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectParam = None,
    notice: str | None = None,
) -> Response:
    return _page(request, access, t, project_id, notice=notice)


def _page(
    request: Request,
    access: Access,
    t: Translator,
    project_id: int | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    all_projects, project = choose_project(access, project_id)
    context: dict[str, Any] = {
        "projects": all_projects,
        "project": project,
        "notice": notice[:200] if notice else None,
        "error": error,
        "timezones": _TIMEZONES,
    }
    if project is not None:
        with read_session(access.db) as session:
            plan = keywords.list_keywords(session, project.id)
            context["plan"] = [
                {
                    "id": k.id,
                    "keyword": k.keyword,
                    "priority": k.priority,
                    "state": k.state,
                }
                for k in plan
            ]
        context["secrets_set"] = set(project.secrets or {})
    return render(
        request, "projects.html", t, account=access.account, status=status, **context
    )


def _back(project_id: int, notice: str) -> Response:
    query = urlencode({"project": project_id, "notice": notice})
    return RedirectResponse(f"/client-portal/projects?{query}", status_code=303)


def _failed(
    request: Request,
    access: Access,
    t: Translator,
    project_id: int,
    exc: AutopilotError,
) -> Response:
    return _page(request, access, t, project_id, error=exc.message, status=422)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _checked_url(url: str, access: Access, what: str) -> str:
    url = url.strip()
    if not url:
        return ""
    return check_target_url(
        url, allow_private=access.settings.allow_private_targets, what=what
    )


@router.post("/{project_id}/settings")
async def save_settings(
    request: Request, access: AccessDep, t: TranslatorDep, project_id: ProjectId
) -> Response:
    """Writer, publisher and article settings; empty secret fields keep theirs."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        update = await run_in_threadpool(_settings_update, values, access)
        await run_in_threadpool(_apply, access, project_id, update)
    except AutopilotError as exc:
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("saved"))


def _settings_update(values: dict[str, str], access: Access) -> projects.ProjectUpdate:
    def get(name: str) -> str:
        return values.get(name, "")[:500].strip()

    target_words = get("target_words")
    if target_words and not target_words.isdigit():
        raise InvalidInput("The number of words must be a whole number.")
    site_url = get("site_url")
    if site_url and not site_url.startswith(("http://", "https://")):
        raise InvalidInput("The website address must start with http:// or https://.")
    secrets = {}
    for field, name in SECRET_FIELDS.items():
        if values.get(f"clear_{field}"):
            secrets[name] = ""
        elif values.get(field):
            secrets[name] = values[field][:1000]
    return projects.ProjectUpdate(
        site_url=site_url,
        language=get("language") or None,
        tone=get("tone"),
        target_words=int(target_words) if target_words else None,
        post_status=get("post_status") or None,
        categories=_split(get("categories")),
        tags=_split(get("tags")),
        writer=get("writer") or None,
        writer_settings={
            "base_url": _checked_url(
                get("writer_base_url"), access, "language model URL"
            ),
            "model": get("writer_model"),
        },
        publisher=get("publisher") or None,
        publisher_settings={
            "site_url": _checked_url(
                get("publisher_site_url"), access, "WordPress site URL"
            ),
            "username": get("publisher_username"),
            "url": _checked_url(get("publisher_url"), access, "webhook URL"),
        },
        secrets=secrets,
    )


def _apply(access: Access, project_id: int, update: projects.ProjectUpdate) -> None:
    access.project(project_id)
    with access.db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        projects.apply_update(session, project, update, access.settings)


@router.post("/{project_id}/schedule")
def save_schedule(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectId,
    schedule_cron: Annotated[str, Form(max_length=100)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "Europe/Amsterdam",
    autopilot_enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Schedule, time zone and the pause switch."""
    update = projects.ProjectUpdate(
        schedule_cron=schedule_cron,
        timezone=timezone,
        autopilot_enabled=bool(autopilot_enabled),
    )
    try:
        _apply(access, project_id, update)
    except AutopilotError as exc:
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("saved"))


@router.post("/{project_id}/keywords")
def add_keyword(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectId,
    keyword: Annotated[str, Form(max_length=300)],
) -> Response:
    """Add one keyword at the end of the plan."""
    access.project(project_id)
    try:
        with access.db.session() as session:
            added, skipped = keywords.add_keywords(
                session,
                project_id,
                [keywords.PlannedKeyword(keyword, _lowest(session, project_id))],
            )
    except AutopilotError as exc:
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("keywords_added", added=added, skipped=skipped))


def _lowest(session: Any, project_id: int) -> int:
    plan = keywords.list_keywords(session, project_id)
    queued = [k.priority for k in plan if k.state == "queued"]
    return min(queued) - 1 if queued else 0


@router.post("/{project_id}/keywords/import")
async def import_keywords(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectId,
) -> Response:
    """Import a list: pasted text or an uploaded file, one a line or CSV."""
    form = await request.form()
    text = form.get("text")
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_IMPORT_BYTES + 1)
        text = raw[:MAX_IMPORT_BYTES].decode("utf-8", errors="replace")
    try:
        if not isinstance(text, str) or len(text) > MAX_IMPORT_BYTES:
            raise InvalidInput("Paste keywords or choose a file of at most 1 MB.")
        planned = keywords.parse_keyword_file(text)
        added, skipped = await run_in_threadpool(_import, access, project_id, planned)
    except AutopilotError as exc:
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("keywords_added", added=added, skipped=skipped))


def _import(
    access: Access, project_id: int, planned: list[keywords.PlannedKeyword]
) -> tuple[int, int]:
    access.project(project_id)
    with access.db.session() as session:
        return keywords.add_keywords(session, project_id, planned)


@router.post("/{project_id}/keywords/{keyword_id}/move")
def move_keyword(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectId,
    keyword_id: KeywordId,
    direction: Annotated[str, Form(pattern="^(up|down)$")],
) -> Response:
    """Move a queued keyword one place up or down the plan."""
    access.project(project_id)
    try:
        _move(access, project_id, keyword_id, direction)
    except InvalidInput as exc:
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("saved"))


def _move(access: Access, project_id: int, keyword_id: int, direction: str) -> None:
    with access.db.session() as session:
        plan = keywords.list_keywords(session, project_id)
        ids = [k.id for k in plan if k.state == "queued"]
        if keyword_id not in ids:
            keywords.get_keyword(session, project_id, keyword_id)
            raise InvalidInput("Only keywords that are still queued can be moved.")
        at = ids.index(keyword_id)
        other = at - 1 if direction == "up" else at + 1
        if 0 <= other < len(ids):
            ids[at], ids[other] = ids[other], ids[at]
        # Distinct priorities in the new order: the plan runs highest first.
        for rank, kid in enumerate(ids):
            keywords.set_priority(session, project_id, kid, len(ids) - rank)


@router.post("/{project_id}/keywords/{keyword_id}/remove")
def remove_keyword(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectId,
    keyword_id: KeywordId,
) -> Response:
    access.project(project_id)
    try:
        with access.db.session() as session:
            keywords.remove_keyword(session, project_id, keyword_id)
    except AutopilotError as exc:
        if exc.code == "not_found":
            raise
        return _failed(request, access, t, project_id, exc)
    return _back(project_id, t("saved"))
