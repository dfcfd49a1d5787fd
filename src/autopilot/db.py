"""The database edge: engines, transactions, the database clock, migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from autopilot.errors import DatabaseError
from autopilot.models import UTCDateTime

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_AFTER_COMMIT = "autopilot_after_commit"
CLOCK_CACHE_SIZE = 64


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the write transaction of ``conn`` has committed."""
    callbacks: list[Callable[[], None]] = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _describe(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


class Database:
    """One database, its connection pool and its clock.

    Every lease and deadline comparison uses :meth:`now`, the database's own
    clock, so workers on several machines agree on what has expired.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = self._create_engine()
        self.dialect = self.engine.dialect.name
        self.clock_offset = 0.0
        """Seconds added to the database clock; tests use it to skip ahead."""
        self._clock_expressions: dict[float, sa.ColumnElement[datetime]] = {}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def _create_engine(self) -> Engine:
        parsed = sa.make_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            return self._create_sqlite_engine(parsed)
        if parsed.get_backend_name() != "postgresql":
            raise DatabaseError(
                f"Unsupported database {_describe(self.url)}: use a sqlite:/// or "
                "postgresql:// URL in AUTOPILOT_DATABASE_URL."
            )
        # No pre-ping: it costs a round trip per transaction. A connection
        # that died is discarded on its first error, which _connect reports.
        return sa.create_engine(self.url, pool_size=10, max_overflow=30)

    def _create_sqlite_engine(self, parsed: sa.URL) -> Engine:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url,
            pool_size=10,
            max_overflow=30,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                "check_same_thread": False,
            },
        )

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control from the driver so BEGIN is ours to name.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writer takes the write lock up front, so two writers never
            # deadlock upgrading from a read lock.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def now(self, plus: float = 0.0) -> sa.ColumnElement[datetime]:
        """The database clock, ``plus`` seconds ahead, as a SQL expression."""
        seconds = plus + self.clock_offset
        cached = self._clock_expressions.get(seconds)
        if cached is None:
            if len(self._clock_expressions) >= CLOCK_CACHE_SIZE:
                # Retry delays carry jitter; keep only the recurring offsets.
                self._clock_expressions.clear()
            cached = self._clock_expressions[seconds] = self._clock(seconds)
        return cached

    def _clock(self, seconds: float) -> sa.ColumnElement[datetime]:
        if self.is_postgres:
            expr: sa.ColumnElement[Any] = sa.func.clock_timestamp()
            if seconds:
                expr = expr + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
            return sa.type_coerce(expr, UTCDateTime())
        # Six fraction digits: the format SQLAlchemy writes, so text compares.
        modifier = f"{seconds:+.3f} seconds"
        text = sa.func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier) + "000"
        return sa.type_coerce(text, UTCDateTime())

    def current_time(self) -> datetime:
        """Read the database clock once."""
        with self.read() as conn:
            value = conn.execute(sa.select(self.now())).scalar_one()
        assert isinstance(value, datetime)
        return value

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write; on SQLite it takes the lock at once.

        Callables added with :func:`after_commit` run once it has committed.
        """
        with self._connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn
            callbacks = conn.info.pop(_AFTER_COMMIT, ())
        for callback in callbacks:
            callback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads."""
        with self._connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session that commits on success, for CRUD outside the engine."""
        with self._sessions() as session, session.begin():
            session.connection(execution_options={"sqlite_immediate": True})
            yield session

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise DatabaseError(
                f"Cannot reach the database at {_describe(self.url)}: "
                f"{exc.orig}. Check AUTOPILOT_DATABASE_URL and that the server runs."
            ) from exc
        with conn:
            try:
                yield conn
            except sa.exc.OperationalError as exc:
                # Lost connections, locks held too long, a server shutting down.
                raise DatabaseError(
                    f"The database at {_describe(self.url)} failed: {exc.orig}. "
                    "Nothing was changed; try again."
                ) from exc

    def dispose(self) -> None:
        self.engine.dispose()

    # Migrations -----------------------------------------------------------

    def _alembic_config(self) -> AlembicConfig:
        config = AlembicConfig()
        config.set_main_option("script_location", "autopilot:migrations")
        return config

    def schema_revision(self) -> str | None:
        """The migration the database is at, or None when it has none."""
        with self.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def require_current_schema(self) -> None:
        """Refuse to go on with a database that is not fully migrated."""
        current, head = self.schema_revision(), self.head_revision()
        if current == head:
            return
        state = "has no tables yet" if current is None else f"is at {current}"
        raise DatabaseError(
            f"The database at {_describe(self.url)} {state}, not at {head}. "
            "Run `autopilot db upgrade` first."
        )

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply every pending migration; returns (before, after)."""
        before = self.schema_revision()
        config = self._alembic_config()
        with self.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before, self.schema_revision()
