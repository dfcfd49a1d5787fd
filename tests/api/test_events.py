"""The live event stream: job changes as SSE, resumable with Last-Event-ID,
filtered by ownership, and fed by one reader however many streams are open."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from api_support import EventStream, World
from fastapi import FastAPI

from autopilot.db import Database
from autopilot.jobs import control, queue

API = "/api/client/autopilot"


@pytest.fixture
def streams() -> Iterator[list[EventStream]]:
    opened: list[EventStream] = []
    yield opened
    for stream in opened:
        stream.close()


def _open(streams: list[EventStream], url: str, headers: dict[str, str]) -> EventStream:
    stream = EventStream(url, headers)
    streams.append(stream)
    return stream


def _events_of(stream: EventStream, count: int) -> list[dict[str, object]]:
    return [stream.next().data for _ in range(count)]


def test_own_and_admin_streams_open(
    live_url: str, world: World, streams: list[EventStream]
) -> None:
    """The project's user and an admin get a text/event-stream (200)."""
    for person in (world.alice, world.admin):
        url = f"{live_url}{API}/events?projectId={world.project_a}"
        stream = _open(streams, url, person.headers)
        assert stream.status == 200
        assert stream.content_type.startswith("text/event-stream")


def test_stream_delivers_each_job_change_with_its_id(
    live_url: str, world: World, db: Database, streams: list[EventStream]
) -> None:
    """Each change arrives as `event: job` with `id:`, the event and the job."""
    url = f"{live_url}{API}/events?projectId={world.project_a}"
    stream = _open(streams, url, world.alice.headers)
    time.sleep(0.3)
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)

    first, second = stream.next(), stream.next()
    assert first.event == second.event == "job"
    assert first.id is not None and second.id is not None
    assert int(second.id) > int(first.id)
    assert first.data["event"] == "enqueued"
    assert second.data["to"] == "cancelled"
    job_json = second.data["job"]
    assert isinstance(job_json, dict)
    assert job_json["id"] == job.id
    assert job_json["status"] == "cancelled"
    assert job_json["projectId"] == world.project_a


def test_stream_resumes_from_last_event_id_without_missing_one(
    live_url: str, world: World, db: Database, streams: list[EventStream]
) -> None:
    """A reconnect with Last-Event-ID replays what came after it, then goes live."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    history = control.job_events(db, job.id)
    resume_after = history[0].id

    url = f"{live_url}{API}/events?projectId={world.project_a}"
    headers = {**world.alice.headers, "Last-Event-ID": str(resume_after)}
    stream = _open(streams, url, headers)
    replayed = stream.next()
    assert replayed.id == str(history[1].id)
    assert replayed.data["event"] == "cancelled"

    later = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    live = stream.next()
    assert live.data["jobId"] == later.id
    assert live.data["event"] == "enqueued"


def test_after_parameter_replays_like_last_event_id(
    live_url: str, world: World, db: Database, streams: list[EventStream]
) -> None:
    """A first connection can say where its page's state was read (after=)."""
    before = control.last_event_id(db)
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    url = f"{live_url}{API}/events?projectId={world.project_a}&after={before}"
    stream = _open(streams, url, world.alice.headers)
    assert stream.next().data["jobId"] == job.id


def test_stream_shows_no_other_clients_events(
    live_url: str, world: World, db: Database, streams: list[EventStream]
) -> None:
    """Bob's stream of all his projects never carries client A's jobs."""
    stream = _open(streams, f"{live_url}{API}/events", world.bob.headers)
    time.sleep(0.3)
    queue.enqueue(db, "autopilot.run", project_id=world.project_a)
    mine = queue.enqueue(db, "autopilot.run", project_id=world.project_b).job
    received = stream.next()
    assert received.data["jobId"] == mine.id
    assert stream.drain() == []


def test_deleted_job_arrives_with_null_job(
    live_url: str, world: World, db: Database, streams: list[EventStream]
) -> None:
    """Deleting a job tells the page to drop it: job is null."""
    job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
    control.cancel(db, job.id)
    url = f"{live_url}{API}/events?projectId={world.project_a}"
    stream = _open(streams, url, world.alice.headers)
    time.sleep(0.3)
    control.delete(db, job.id)
    received = stream.next()
    assert received.data["event"] == "deleted"
    assert received.data["job"] is None


def test_bad_last_event_id_is_422(live_url: str, world: World) -> None:
    """A Last-Event-ID that is not an event id is refused cleanly."""
    import httpx

    response = httpx.get(
        f"{live_url}{API}/events",
        headers={**world.alice.headers, "Last-Event-ID": "abc"},
    )
    assert response.status_code == 422


def _statements_during(db: Database, action: object) -> int:
    count = 0

    def counter(*_args: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        assert callable(action)
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return count


def test_open_streams_do_not_multiply_database_queries(
    live_url: str,
    world: World,
    db: Database,
    app: FastAPI,
    streams: list[EventStream],
) -> None:
    """Twenty open pages cost the database what one does: one reader feeds all."""
    url = f"{live_url}{API}/events?projectId={world.project_a}"

    def changes(watchers: list[EventStream]) -> None:
        for _ in range(5):
            job = queue.enqueue(db, "autopilot.run", project_id=world.project_a).job
            control.cancel(db, job.id)
        for stream in watchers:
            assert len(_events_of(stream, 10)) == 10

    one = [_open(streams, url, world.alice.headers)]
    time.sleep(0.5)
    with_one = _statements_during(db, lambda: changes(one))
    for stream in one:
        stream.close()

    many = [_open(streams, url, world.alice.headers) for _ in range(20)]
    time.sleep(0.5)
    with_many = _statements_during(db, lambda: changes(many))

    assert app.state.services.broker.subscriber_count >= 20
    # Same changes, same reader: the count differs only by poll timing.
    assert with_many <= with_one * 1.5 + 20, (with_one, with_many)
