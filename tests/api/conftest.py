"""Fixtures for the API tier: an app per test on its own database, two clients
with a user each, an admin, and API tokens for all three."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import World, make_settings, seed_world, serve
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from autopilot import accounts
from autopilot.db import Database
from autopilot.settings import Settings
from autopilot.web import create_app


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes most of a second per user here."""
    monkeypatch.setattr(
        accounts,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def world(db: Database) -> World:
    return seed_world(db)


@pytest.fixture
def app(settings: Settings, db: Database, world: World) -> FastAPI:
    return create_app(settings, db=db, run_worker=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url
