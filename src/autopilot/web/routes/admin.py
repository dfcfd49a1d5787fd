"""/admin: workers online, and active and recently failed runs of every client."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from autopilot.jobs import control, liveness
from autopilot.models import Client, Project
from autopilot.web.deps import AdminDep, TranslatorDep, read_session
from autopilot.web.pages import render
from autopilot.web.views import jobs_json, json_ready

router = APIRouter(include_in_schema=False)

RECENT_FAILED = 20


@router.get("/admin")
def admin_page(
    request: Request,
    access: AdminDep,
    t: TranslatorDep,
    fragment: Annotated[bool, Query()] = False,
) -> Response:
    """The operator's view; ``fragment`` returns only the part that refreshes."""
    access.recover()
    db = access.db
    now = db.current_time()
    workers = [
        {
            "id": w.id,
            "hostname": w.hostname,
            "pid": w.pid,
            "concurrency": w.concurrency,
            "kinds": ", ".join(w.kinds),
            "age": max(0, int((now - w.heartbeat_at).total_seconds())),
            "started": w.started_at,
        }
        for w in liveness.list_workers(db)
    ]
    active = control.list_jobs(db, status="pending", limit=100)
    active += control.list_jobs(db, status="running", limit=100)
    active.sort(key=lambda job: job.id, reverse=True)
    failed = control.list_jobs(db, status="failed", limit=RECENT_FAILED)
    context: dict[str, Any] = {
        "workers": workers,
        "active": json_ready(jobs_json(db, active)),
        "failed": json_ready(jobs_json(db, failed)),
        "projects": _project_names(access.db),
        "fragment": fragment,
    }
    template = "admin_fragment.html" if fragment else "admin.html"
    return render(request, template, t, account=access.account, **context)


def _project_names(db: Any) -> dict[int, dict[str, str]]:
    with read_session(db) as session:
        rows = session.execute(
            sa.select(Project.id, Project.name, Project.timezone, Client.name).join(
                Client, Client.id == Project.client_id
            )
        ).all()
    return {
        pid: {"name": name, "timezone": tz, "client": client}
        for pid, name, tz, client in rows
    }
