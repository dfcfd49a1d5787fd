"""Fixtures shared by every tier: one engine suite, run on SQLite and PostgreSQL.

PostgreSQL tests get a database of their own, copied from a migrated template,
so each test owns its data. Outside CI they skip when PostgreSQL is not
reachable; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from autopilot.db import Database

POSTGRES_URL = os.environ.get(
    "AUTOPILOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One template per test session, so sessions running side by side never clash.
TEMPLATE = f"autopilot_test_template_{os.getpid()}"


def _admin_conninfo() -> str:
    return sa.make_url(POSTGRES_URL).render_as_string(hide_password=False)


def _database_url(name: str) -> str:
    url = sa.make_url(POSTGRES_URL).set(database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database, made once per session."""
    try:
        admin = psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {TEMPLATE}")
    db = Database(_database_url(TEMPLATE))
    db.upgrade()
    db.dispose()
    yield TEMPLATE
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


def _fresh_postgres(template: str) -> Iterator[str]:
    name = f"autopilot_test_{secrets.token_hex(5)}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _database_url(name)
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per session and copied per test."""
    path = tmp_path_factory.mktemp("template") / "autopilot.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    # The last connection to close folds the write-ahead log into the file.
    db.dispose()
    assert not path.with_name("autopilot.db-wal").exists()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind, owned by one test."""
    if request.param == "sqlite":
        path = tmp_path / "autopilot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    yield from _fresh_postgres(template)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A :class:`Database` on the test's own database."""
    database = Database(database_url)
    yield database
    database.dispose()
