"""The client portal's Autopilot page: status, Nu uitvoeren, the live run list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from autopilot.jobs import control
from autopilot.models import Project
from autopilot.web.deps import Access, AccessDep, AccountDep, TranslatorDep
from autopilot.web.i18n import Translator
from autopilot.web.pages import render
from autopilot.web.schemas import MAX_PROJECT_ID
from autopilot.web.views import jobs_json, json_ready, project_summaries

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20

ProjectParam = Annotated[int | None, Query(alias="project", ge=1, le=MAX_PROJECT_ID)]


@router.get("/")
def home(account: AccountDep) -> Response:
    target = "/client-portal/autopilot" if account else "/login"
    return RedirectResponse(target, status_code=303)


def choose_project(
    access: Access, project_id: int | None
) -> tuple[list[Project], Project | None]:
    """The user's projects and the one the page is about (asked for, or first)."""
    projects = access.projects()
    if project_id is not None:
        return projects, access.project(project_id)
    return projects, projects[0] if projects else None


def local_time(value: datetime | None, timezone: str, language: str) -> str:
    """A moment as wall-clock time in a project's time zone."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    pattern = "%d-%m-%Y %H:%M" if language == "nl" else "%Y-%m-%d %H:%M"
    return local.strftime(pattern)


@router.get("/client-portal/autopilot")
def autopilot_page(
    request: Request,
    access: AccessDep,
    t: TranslatorDep,
    project_id: ProjectParam = None,
) -> Response:
    projects, project = choose_project(access, project_id)
    context: dict[str, Any] = {"projects": projects, "project": project}
    if project is not None:
        context |= _project_state(access, project, t)
    return render(request, "portal.html", t, account=access.account, **context)


def _project_state(access: Access, project: Project, t: Translator) -> dict[str, Any]:
    # The event id is read first: whatever happens after it, the page's
    # stream replays, so nothing falls between this render and going live.
    after = control.last_event_id(access.db)
    access.recover(project.id)
    now = access.db.current_time()
    summary = project_summaries(access.db, [project], now)[0]
    found = control.list_jobs(access.db, project_ids=[project.id], limit=PAGE_SIZE + 1)
    page = found[:PAGE_SIZE]
    boot = {
        "project": summary,
        "jobs": jobs_json(access.db, page),
        "nextCursor": str(page[-1].id) if len(found) > PAGE_SIZE else None,
        "lastEventId": after,
        "i18n": t.client_bundle(),
    }
    return {
        "summary": summary,
        "boot": json_ready(boot),
        "next_run_text": local_time(summary["nextRunAt"], project.timezone, t.language),
        "run_state_text": _run_state(summary["activeJob"], project.timezone, t),
    }


def _run_state(active: dict[str, Any] | None, timezone: str, t: Translator) -> str:
    """Why the button is disabled ("Bezig sinds 10:02 · schrijven 45%"), if it is."""
    if active is None or active["status"] == "pending":
        return ""
    since = active["startedAt"] or active["createdAt"]
    stage = active["status"]
    words = t.messages.get(f"stage_{stage}", stage)
    clock = since.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    return t("busy_since", time=clock, stage=words, progress=active["progress"])
