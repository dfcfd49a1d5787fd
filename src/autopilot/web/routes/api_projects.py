"""GET /api/client/autopilot/projects: the projects a user may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from autopilot.web.deps import AccessDep
from autopilot.web.routes.common import API_PREFIX, error_responses
from autopilot.web.schemas import ProjectList
from autopilot.web.views import project_summaries

router = APIRouter(prefix=API_PREFIX, tags=["projects"])


@router.get("/projects", response_model=ProjectList, responses=error_responses())
def list_projects(access: AccessDep) -> dict[str, Any]:
    """Your projects, each with its schedule, next run, active and last job."""
    access.recover()
    projects = access.projects()
    now = access.db.current_time()
    return {"projects": project_summaries(access.db, projects, now)}
