"""Operations: /healthz, /metrics, /docs, and the CLI for users and tokens."""

from __future__ import annotations

import pytest
from api_support import World
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autopilot import accounts
from autopilot.cli import app as cli
from autopilot.db import Database
from autopilot.jobs import attempts, control, queue
from autopilot.runtime import job_kinds
from autopilot.settings import Settings


def test_healthz_reports_database_and_workers(client: TestClient) -> None:
    """/healthz says the database answers and how many workers are alive."""
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["workers"] == 0
    assert body["embeddedWorker"] is False
    assert body["eventReader"] is True


def test_metrics_count_jobs_recoveries_and_durations(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """/metrics exposes jobs by status, recoveries, run and stage durations."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    queue.claim(db, "w", list(job_kinds(settings)), limit=1, lease_seconds=60)
    attempts.advance_stage(
        db, job.id, 1, "generating", "publishing", timeout_seconds=60
    )
    attempts.complete(db, job.id, 1, "publishing", {"title": "T"})
    pending = queue.enqueue(db, "autopilot.run", project_id=world.project_b).job
    control.cancel(db, pending.id)

    text = client.get("/metrics").text
    assert 'autopilot_jobs{status="completed"} 1.0' in text
    assert 'autopilot_jobs{status="cancelled"} 1.0' in text
    assert 'autopilot_job_recoveries_total{reason="worker_lost"} 0.0' in text
    assert 'autopilot_run_duration_seconds_count{outcome="completed"} 1.0' in text
    assert 'autopilot_stage_duration_seconds_count{stage="generating"} 1.0' in text
    assert 'autopilot_stage_duration_seconds_count{stage="publishing"} 1.0' in text
    assert "autopilot_workers_online 0.0" in text


def test_docs_page_lists_the_api_without_loading_anything_remote(
    client: TestClient,
) -> None:
    """/docs is served by the app and names every route; no external URLs."""
    page = client.get("/docs")
    assert page.status_code == 200
    for path in ("/api/client/autopilot/run", "/api/client/autopilot/events"):
        assert path in page.text
    assert "https://" not in page.text
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


@pytest.fixture
def runner(database_url: str, tmp_path: object) -> CliRunner:
    return CliRunner(
        env={
            "AUTOPILOT_DATABASE_URL": database_url,
            "AUTOPILOT_DATA_DIR": str(tmp_path),
        }
    )


def test_users_create_reads_the_password_from_stdin(
    runner: CliRunner, world: World, db: Database
) -> None:
    """`autopilot users create EMAIL --client C` takes the password on stdin."""
    result = runner.invoke(
        cli,
        ["users", "create", "Carol@Example.com", "--client", "Bakkerij A", "--admin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    account = accounts.authenticate(db, "carol@example.com", "a long enough password")
    assert account.is_admin
    assert account.client_id == world.client_a


def test_tokens_create_prints_a_working_token_once(
    runner: CliRunner, world: World, client: TestClient
) -> None:
    """`autopilot tokens create EMAIL` prints a token the API accepts."""
    result = runner.invoke(cli, ["tokens", "create", world.alice.email])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("apt_")
    response = client.get(
        "/api/client/autopilot/projects", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_tokens_are_stored_only_as_hashes(world: World, db: Database) -> None:
    """The database never holds a usable token."""
    import sqlalchemy as sa

    from autopilot.models import ApiToken

    with db.read() as conn:
        stored = conn.execute(sa.select(ApiToken.token_hash)).scalars().all()
    assert world.alice.token not in stored
    assert all(len(value) == 64 for value in stored)


def test_short_passwords_are_refused(runner: CliRunner, world: World) -> None:
    """A password under the minimum length is refused with a message."""
    result = runner.invoke(
        cli,
        ["users", "create", "d@example.com", "--client", "Bakkerij A"],
        input="short\n",
    )
    assert result.exit_code != 0
