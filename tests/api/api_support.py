"""Helpers for API tests: two clients with a user each, an admin, tokens, and a
real server in a thread."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from autopilot import accounts
from autopilot.db import Database
from autopilot.pipeline import keywords, projects
from autopilot.settings import Settings

PASSWORD = "correct horse battery"
SECRET = "test-secret-key-with-enough-entropy-0123456789"


@dataclass(frozen=True)
class Person:
    """A user of the portal and the bearer header that acts as them."""

    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class World:
    """Client A (alice, project_a) and client B (bob, project_b), plus an admin."""

    alice: Person
    bob: Person
    admin: Person
    project_a: int
    project_b: int
    client_a: int


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": SECRET,
        "heartbeat_seconds": 0.5,
        "lease_seconds": 3.0,
        "reap_interval_seconds": 0.5,
        "poll_seconds": 0.2,
        "events_poll_seconds": 0.1,
        "retry_base_seconds": 30.0,
        "shutdown_grace_seconds": 1.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def seed_world(db: Database) -> World:
    people = {}
    with db.session() as session:
        client_a = projects.add_client(session, "Bakkerij A")
        client_b = projects.add_client(session, "Slagerij B")
        project_a = projects.add_project(session, "Site A", client_a)
        project_b = projects.add_project(session, "Site B", client_b)
        project_a.writer_settings = {"section_delay_seconds": 0.0}
        for project in (project_a, project_b):
            keywords.add_keywords(
                session,
                project.id,
                [keywords.PlannedKeyword(f"keyword {i}") for i in range(3)],
            )
        for name, client, admin in (
            ("alice", client_a, False),
            ("bob", client_b, False),
            ("admin", client_a, True),
        ):
            email = f"{name}@example.com"
            accounts.create_user(session, email, PASSWORD, client=client, admin=admin)
            token, _ = accounts.create_token(session, email, "tests")
            people[name] = Person(email, token)
        ids = (project_a.id, project_b.id, client_a.id)
    return World(people["alice"], people["bob"], people["admin"], *ids)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run the app on a free local port in a thread; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.services.broker.close_streams()
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Received:
    """One Server-Sent Event as a browser would see it."""

    id: str | None
    event: str
    data: dict[str, Any]


class EventStream:
    """Reads an SSE stream in a thread; ``next()`` hands over one event."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.status: int | None = None
        self.content_type = ""
        self.comments: list[str] = []
        self._events: queue.Queue[Received] = queue.Queue()
        self._opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._opened.wait(10):
            raise RuntimeError(f"no answer from {url}")

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.url, headers=self.headers) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                self._opened.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line == "":
                        if "data" in fields:
                            self._events.put(
                                Received(
                                    fields.get("id"),
                                    fields.get("event", "message"),
                                    json.loads(fields["data"]),
                                )
                            )
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self._opened.set()

    def next(self, timeout: float = 10.0) -> Received:
        return self._events.get(timeout=timeout)

    def drain(self, quiet: float = 0.5) -> list[Received]:
        """Everything that arrives until the stream is quiet for ``quiet`` s."""
        out = []
        while True:
            try:
                out.append(self._events.get(timeout=quiet))
            except queue.Empty:
                return out

    def close(self) -> None:
        self._client.close()
