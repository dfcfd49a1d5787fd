"""Every route for every kind of caller: nobody, another client's user, the
project's own user, and an admin."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import World
from fastapi.testclient import TestClient

from autopilot.db import Database
from autopilot.jobs import control, queue

CALLERS = ("anonymous", "other", "own", "admin")

API = "/api/client/autopilot"
CANCEL = {"status": "cancelled"}
RETRY = {"action": "retry"}

# (method, path, body, expected status per caller)
ROUTES: list[tuple[str, str, Any, tuple[int, int, int, int]]] = [
    ("GET", f"{API}/projects", None, (401, 200, 200, 200)),
    ("GET", f"{API}/jobs?projectId={{project}}", None, (401, 404, 200, 200)),
    ("POST", f"{API}/run", {"projectId": "{project}"}, (401, 404, 202, 202)),
    ("GET", f"{API}/jobs/{{pending}}", None, (401, 404, 200, 200)),
    ("PATCH", f"{API}/jobs/{{pending}}", CANCEL, (401, 404, 200, 200)),
    # The project's pending job is in the way of a retry: the conflict is right.
    ("PATCH", f"{API}/jobs/{{finished}}", RETRY, (401, 404, 409, 409)),
    ("DELETE", f"{API}/jobs/{{finished}}", None, (401, 404, 204, 204)),
    ("GET", f"{API}/events?projectId={{project}}", None, (401, 404, 200, 200)),
    ("GET", "/client-portal/autopilot?project={project}", None, (303, 404, 200, 200)),
    ("GET", "/client-portal/projects?project={project}", None, (303, 404, 200, 200)),
    ("GET", "/admin", None, (303, 403, 403, 200)),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        for name, number in ids.items():
            if value == "{" + name + "}":
                return number
            value = value.replace("{" + name + "}", str(number))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def ids(db: Database, world: World) -> dict[str, int]:
    """A finished (cancelled) and a pending job in project A."""
    finished = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, finished.id)
    pending = queue.enqueue(
        db, "autopilot.run", project_id=world.project_a, delay_seconds=3600
    ).job
    return {"project": world.project_a, "pending": pending.id, "finished": finished.id}


def _headers(world: World, caller: str) -> dict[str, str]:
    person = {"other": world.bob, "own": world.alice, "admin": world.admin}.get(caller)
    return person.headers if person else {}


# An open event stream never ends, so the test client cannot wait for it:
# test_events checks those two cases against a real server.
CASES = [
    (method, path, body, caller, expected[CALLERS.index(caller)])
    for method, path, body, expected in ROUTES
    for caller in CALLERS
    if not ("/events" in path and expected[CALLERS.index(caller)] == 200)
]


@pytest.mark.parametrize(("method", "path", "body", "caller", "want"), CASES)
def test_route_answers_each_caller_as_expected(
    client: TestClient,
    world: World,
    ids: dict[str, int],
    method: str,
    path: str,
    body: Any,
    caller: str,
    want: int,
) -> None:
    """Each route gives each caller the status the access rules promise."""
    url = _fill(path, ids)
    response = client.request(
        method,
        url,
        json=_fill(body, ids),
        headers=_headers(world, caller),
        follow_redirects=False,
    )
    assert response.status_code == want, response.text
    if want >= 400 and url.startswith("/api/"):
        assert set(response.json()) >= {"code", "message"}


def test_other_clients_ids_look_exactly_like_missing_ones(
    client: TestClient, world: World, ids: dict[str, int]
) -> None:
    """A job of another client answers the same 404 body as a job that never existed."""
    theirs = client.get(
        f"/api/client/autopilot/jobs/{ids['pending']}", headers=world.bob.headers
    )
    missing = client.get("/api/client/autopilot/jobs/987654", headers=world.bob.headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    assert theirs.json()["message"].replace(str(ids["pending"]), "N") == missing.json()[
        "message"
    ].replace("987654", "N")


def test_project_list_shows_only_the_callers_own_projects(
    client: TestClient, world: World
) -> None:
    """A client's user sees its own client's projects; an admin sees all."""

    def names(headers: dict[str, str]) -> set[str]:
        body = client.get("/api/client/autopilot/projects", headers=headers).json()
        return {p["name"] for p in body["projects"]}

    assert names(world.alice.headers) == {"Site A"}
    assert names(world.bob.headers) == {"Site B"}
    assert names(world.admin.headers) == {"Site A", "Site B"}


def test_job_list_without_project_filter_shows_only_own_jobs(
    client: TestClient, world: World, ids: dict[str, int], db: Database
) -> None:
    """Listing all jobs never leaks another client's jobs."""
    queue.enqueue(db, "autopilot.run", project_id=world.project_b)
    body = client.get("/api/client/autopilot/jobs", headers=world.alice.headers).json()
    assert {job["projectId"] for job in body["jobs"]} == {world.project_a}
    body = client.get("/api/client/autopilot/jobs", headers=world.admin.headers).json()
    assert {job["projectId"] for job in body["jobs"]} == {
        world.project_a,
        world.project_b,
    }


def test_unknown_bearer_token_is_refused(client: TestClient) -> None:
    """A made-up token gets 401 with a JSON error, not an anonymous view."""
    response = client.get(
        "/api/client/autopilot/projects",
        headers={"Authorization": "Bearer apt_not-a-real-token"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_malformed_authorization_header_is_refused(client: TestClient) -> None:
    """A Basic or empty Authorization header is a clean 401."""
    for value in ("Basic abc", "Bearer", "Bearer    "):
        response = client.get(
            "/api/client/autopilot/projects", headers={"Authorization": value}
        )
        assert response.status_code == 401
