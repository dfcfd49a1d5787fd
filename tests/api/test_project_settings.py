"""The project settings page: settings, schedule, pause switch and content plan,
as plain forms with CSRF tokens; secrets never come back out."""

from __future__ import annotations

import re

from api_support import PASSWORD, World
from fastapi.testclient import TestClient

from autopilot.db import Database
from autopilot.models import Project
from autopilot.pipeline import keywords

PAGE = "/client-portal/projects"


def _login(client: TestClient, email: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token
    client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get(PAGE).text)
    assert found
    return found.group(1)


def _plan(db: Database, project_id: int) -> list[str]:
    with db.session() as session:
        return [k.keyword for k in keywords.list_keywords(session, project_id)]


def test_keywords_can_be_added_imported_reordered_and_removed(
    client: TestClient, world: World, db: Database
) -> None:
    """The content plan is edited through the page's forms."""
    token = _login(client, world.alice.email)
    base = f"{PAGE}/{world.project_a}/keywords"
    added = client.post(base, data={"keyword": "appeltaart", "csrf_token": token})
    assert added.status_code == 200
    assert _plan(db, world.project_a)[-1] == "appeltaart"

    client.post(
        f"{base}/import",
        data={
            "text": "keyword,priority\nboterkoek,99\nstroopwafel,0",
            "csrf_token": token,
        },
    )
    plan = _plan(db, world.project_a)
    assert plan[0] == "boterkoek"
    assert "stroopwafel" in plan

    with db.session() as session:
        ids = {
            k.keyword: k.id for k in keywords.list_keywords(session, world.project_a)
        }
    where = _plan(db, world.project_a).index("appeltaart")
    client.post(
        f"{base}/{ids['appeltaart']}/move",
        data={"direction": "up", "csrf_token": token},
    )
    assert _plan(db, world.project_a).index("appeltaart") == where - 1

    client.post(f"{base}/{ids['boterkoek']}/remove", data={"csrf_token": token})
    assert "boterkoek" not in _plan(db, world.project_a)


def test_moving_up_swaps_with_the_keyword_above(
    client: TestClient, world: World, db: Database
) -> None:
    """Up moves a keyword exactly one place towards the front of the plan."""
    token = _login(client, world.alice.email)
    before = _plan(db, world.project_a)
    with db.session() as session:
        last = keywords.list_keywords(session, world.project_a)[-1]
    client.post(
        f"{PAGE}/{world.project_a}/keywords/{last.id}/move",
        data={"direction": "up", "csrf_token": token},
    )
    after = _plan(db, world.project_a)
    assert after == [*before[:-2], before[-1], before[-2]]


def test_forms_without_csrf_token_change_nothing(
    client: TestClient, world: World, db: Database
) -> None:
    """A cross-site form post (no token) is refused."""
    _login(client, world.alice.email)
    response = client.post(
        f"{PAGE}/{world.project_a}/keywords", data={"keyword": "forged"}
    )
    assert response.status_code == 403
    assert "forged" not in _plan(db, world.project_a)


def test_other_clients_project_forms_answer_404(
    client: TestClient, world: World, db: Database
) -> None:
    """Bob cannot post to Alice's project, and learns nothing about it."""
    token = _login(client, world.bob.email)
    response = client.post(
        f"{PAGE}/{world.project_a}/keywords", data={"keyword": "x", "csrf_token": token}
    )
    assert response.status_code == 404
    assert "x" not in _plan(db, world.project_a)


def test_schedule_and_pause_switch_are_saved(
    client: TestClient, world: World, db: Database
) -> None:
    """A valid schedule, time zone and the switch are stored."""
    token = _login(client, world.alice.email)
    client.post(
        f"{PAGE}/{world.project_a}/schedule",
        data={
            "schedule_cron": "0 9 * * 1-5",
            "timezone": "Europe/Brussels",
            "autopilot_enabled": "1",
            "csrf_token": token,
        },
    )
    with db.session() as session:
        project = session.get(Project, world.project_a)
        assert project is not None
        assert project.schedule_cron == "0 9 * * 1-5"
        assert project.timezone == "Europe/Brussels"
        assert project.autopilot_enabled is True


def test_invalid_schedule_is_explained_not_saved(
    client: TestClient, world: World, db: Database
) -> None:
    """A bad cron expression re-shows the page with the reason (422)."""
    token = _login(client, world.alice.email)
    response = client.post(
        f"{PAGE}/{world.project_a}/schedule",
        data={
            "schedule_cron": "every day",
            "timezone": "Mars/Base",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text


def test_secrets_are_write_only(client: TestClient, world: World, db: Database) -> None:
    """A stored secret is sealed and never shown again, only that it is set."""
    token = _login(client, world.alice.email)
    response = client.post(
        f"{PAGE}/{world.project_a}/settings",
        data={
            "csrf_token": token,
            "writer": "offline",
            "publisher": "folder",
            "language": "nl",
            "post_status": "draft",
            "target_words": "800",
            "publisher_secret": "super-secret-webhook-key",
        },
    )
    assert response.status_code == 200
    assert "super-secret-webhook-key" not in response.text
    with db.session() as session:
        project = session.get(Project, world.project_a)
        assert project is not None
        sealed = project.secrets["publisher_secret"]
    assert sealed != "super-secret-webhook-key"
    page = client.get(f"{PAGE}?project={world.project_a}")
    assert "super-secret-webhook-key" not in page.text
    assert "Ingesteld" in page.text


def test_settings_refuse_urls_on_private_addresses(
    client: TestClient, world: World
) -> None:
    """A writer or publisher URL may not aim at this machine's network."""
    token = _login(client, world.alice.email)
    response = client.post(
        f"{PAGE}/{world.project_a}/settings",
        data={
            "csrf_token": token,
            "writer": "openai",
            "writer_base_url": "http://127.0.0.1:11434/v1",
            "publisher": "folder",
        },
    )
    assert response.status_code == 422
    assert "127.0.0.1" in response.text
