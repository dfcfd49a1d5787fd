"""The job routes' rules: run now, the narrow PATCH, delete, pagination, and
reads that recover lost jobs first."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from api_support import World
from fastapi.testclient import TestClient

from autopilot.db import Database
from autopilot.jobs import control, queue
from autopilot.jobs.liveness import workers_table
from autopilot.jobs.records import jobs_table
from autopilot.runtime import job_kinds
from autopilot.settings import Settings

API = "/api/client/autopilot"


def _claim(db: Database, settings: Settings, worker_id: str = "test-worker") -> None:
    queue.claim(db, worker_id, list(job_kinds(settings)), limit=10, lease_seconds=3600)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# Run now -----------------------------------------------------------------


def test_run_now_creates_a_pending_run(client: TestClient, world: World) -> None:
    """Nu uitvoeren answers 202 with a new pending job of the project."""
    response = client.post(
        f"{API}/run", json={"projectId": world.project_a}, headers=world.alice.headers
    )
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "pending"
    assert job["projectId"] == world.project_a
    assert job["kind"] == "autopilot.run"
    assert {"id", "startedAt", "completedAt", "error", "attempt", "maxAttempts"} <= set(
        job
    )


def test_run_now_starts_a_scheduled_pending_run_at_once(
    client: TestClient, world: World, db: Database
) -> None:
    """A pending run due later is moved to now: 202, the same job."""
    later = queue.enqueue(
        db, "autopilot.run", project_id=world.project_a, delay_seconds=3600
    ).job
    response = client.post(
        f"{API}/run", json={"projectId": world.project_a}, headers=world.alice.headers
    )
    assert response.status_code == 202
    assert response.json()["id"] == later.id
    assert _parse(response.json()["runAt"]) < later.run_at
    assert _parse(response.json()["runAt"]) <= db.current_time()


def test_run_now_conflicts_with_a_running_job(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """While a run is generating the answer is 409 with that job and a message."""
    queue.enqueue(db, "autopilot.run", project_id=world.project_a)
    _claim(db, settings)
    response = client.post(
        f"{API}/run", json={"projectId": world.project_a}, headers=world.alice.headers
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "job_active"
    assert body["job"]["status"] == "generating"
    assert "generating" in body["message"]


@pytest.mark.parametrize(
    "body",
    [{}, {"projectId": "x"}, {"projectId": 0}, {"projectId": 2**40}, [], "run"],
)
def test_run_now_rejects_bad_input_with_422(
    client: TestClient, world: World, body: object
) -> None:
    """Malformed bodies are a JSON 422, never a 500."""
    response = client.post(f"{API}/run", json=body, headers=world.alice.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


# PATCH -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed"},
        {"status": "failed", "error": "Job timeout - automatisch gefaald"},
        {"status": "pending"},
        {"status": "cancelled", "error": "extra"},
        {"action": "cancel"},
        {},
        [],
        "cancelled",
        None,
    ],
)
def test_patch_allows_only_cancel_or_retry(
    client: TestClient, world: World, db: Database, body: object
) -> None:
    """Any other PATCH is 422 naming what is allowed, and changes nothing."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    response = client.patch(
        f"{API}/jobs/{job.id}", json=body, headers=world.alice.headers
    )
    assert response.status_code == 422
    assert '{"status": "cancelled"}' in response.json()["message"]
    assert '{"action": "retry"}' in response.json()["message"]
    assert control.get_job(db, job.id).status == "pending"


def test_patch_with_invalid_json_is_422(client: TestClient, world: World) -> None:
    """A body that is not JSON is a clean 422."""
    response = client.patch(
        f"{API}/jobs/1",
        content=b"{not json",
        headers={**world.alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_cancel_of_a_pending_job_is_immediate(
    client: TestClient, world: World, db: Database
) -> None:
    """Cancelling a pending job finishes it at once with code cancelled."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    response = client.patch(
        f"{API}/jobs/{job.id}",
        json={"status": "cancelled"},
        headers=world.alice.headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["errorCode"] == "cancelled"
    assert response.json()["completedAt"] is not None


def test_cancel_of_a_running_job_is_requested(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """A running job keeps its stage and is marked cancelRequested."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    _claim(db, settings)
    response = client.patch(
        f"{API}/jobs/{job.id}",
        json={"status": "cancelled"},
        headers=world.alice.headers,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "generating"
    assert response.json()["cancelRequested"] is True


def test_cancel_of_a_finished_job_conflicts(
    client: TestClient, world: World, db: Database
) -> None:
    """A finished job cannot be cancelled again: 409."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    response = client.patch(
        f"{API}/jobs/{job.id}",
        json={"status": "cancelled"},
        headers=world.alice.headers,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_retry_of_a_cancelled_job_makes_a_new_job(
    client: TestClient, world: World, db: Database
) -> None:
    """Retry answers 202 with a new pending job doing the same work."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    response = client.patch(
        f"{API}/jobs/{job.id}", json={"action": "retry"}, headers=world.alice.headers
    )
    assert response.status_code == 202
    assert response.json()["id"] != job.id
    assert response.json()["status"] == "pending"
    assert control.get_job(db, response.json()["id"]).payload["retry_of"] == job.id


def test_retry_of_an_active_job_conflicts(
    client: TestClient, world: World, db: Database
) -> None:
    """Only failed or cancelled jobs can be retried."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    response = client.patch(
        f"{API}/jobs/{job.id}", json={"action": "retry"}, headers=world.alice.headers
    )
    assert response.status_code == 409


# DELETE ------------------------------------------------------------------


def test_delete_removes_a_finished_job(
    client: TestClient, world: World, db: Database
) -> None:
    """A finished job is deleted (204) and then answers 404."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    url = f"{API}/jobs/{job.id}"
    assert client.delete(url, headers=world.alice.headers).status_code == 204
    assert client.get(url, headers=world.alice.headers).status_code == 404


def test_delete_refuses_an_active_job(
    client: TestClient, world: World, db: Database
) -> None:
    """Deleting a pending or running job is 409: cancel it first."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    response = client.delete(f"{API}/jobs/{job.id}", headers=world.alice.headers)
    assert response.status_code == 409
    assert "Cancel it first" in response.json()["message"]


# Reads -------------------------------------------------------------------


def test_job_detail_includes_its_events(
    client: TestClient, world: World, db: Database
) -> None:
    """GET one job returns its history, oldest first."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    body = client.get(f"{API}/jobs/{job.id}", headers=world.alice.headers).json()
    assert [e["event"] for e in body["events"]] == ["enqueued", "cancelled"]
    assert body["events"][1]["from"] == "pending"
    assert body["events"][1]["to"] == "cancelled"


def test_job_list_pages_newest_first_with_a_cursor(
    client: TestClient, world: World, db: Database
) -> None:
    """Following nextCursor visits every job once, newest first."""
    made = []
    for _ in range(25):
        job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
        control.cancel(db, job.id)
        made.append(job.id)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"projectId": world.project_a, "limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = client.get(f"{API}/jobs", params=params, headers=world.alice.headers)
        assert body.status_code == 200
        seen += [job["id"] for job in body.json()["jobs"]]
        cursor = body.json()["nextCursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(made, reverse=True)


def test_job_list_filters_by_status(
    client: TestClient, world: World, db: Database
) -> None:
    """status= filters by the status people see."""
    first = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, first.id)
    queue.enqueue(db, "autopilot.run", project_id=world.project_a)
    body = client.get(
        f"{API}/jobs",
        params={"projectId": world.project_a, "status": "cancelled"},
        headers=world.alice.headers,
    ).json()
    assert [job["id"] for job in body["jobs"]] == [first.id]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "abc"},
        {"cursor": "0"},
        {"cursor": "-1"},
        {"limit": 0},
        {"limit": 1000},
        {"status": "exploded"},
        {"projectId": "x"},
    ],
)
def test_job_list_rejects_bad_parameters(
    client: TestClient, world: World, params: dict[str, object]
) -> None:
    """Bad query parameters are a 422 with a code and message."""
    response = client.get(f"{API}/jobs", params=params, headers=world.alice.headers)
    assert response.status_code == 422
    assert response.json()["message"]


def test_reading_jobs_recovers_a_job_whose_worker_died(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """With no worker running, a read reaps first: the dead worker's job is
    back to pending with the reason, not shown as generating."""
    now = datetime.now(UTC)
    with db.write() as conn:
        conn.execute(
            workers_table.insert().values(
                id="ghost",
                hostname=socket.gethostname(),
                pid=2**22 + os.getpid() % 1000,
                process_start="0",
                lock_key=1,
                concurrency=1,
                kinds=["autopilot.run"],
                started_at=now,
                heartbeat_at=now,
            )
        )
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    _claim(db, settings, worker_id="ghost")
    with db.read() as conn:
        status = conn.execute(
            sa.select(jobs_table.c.status).where(jobs_table.c.id == job.id)
        ).scalar_one()
    assert status == "running"

    body = client.get(
        f"{API}/jobs",
        params={"projectId": world.project_a},
        headers=world.alice.headers,
    ).json()
    shown = body["jobs"][0]
    assert shown["status"] == "pending"
    assert shown["errorCode"] == "worker_lost"
    assert "ghost" in shown["error"]
