"""The database schema as SQLAlchemy 2 models; migrations mirror these tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ACTIVE_STATUSES = ("pending", "running")
FINISHED_STATUSES = ("completed", "failed", "cancelled")

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A 64-bit key that is still SQLite's auto-incrementing rowid."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps it as naive UTC text in the same format the database clock
    expression produces, so the two compare correctly as strings.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONData = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with a naming convention Alembic can rely on."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), server_default=sa.func.current_timestamp())


class Client(Base):
    """A customer of the agency; owns projects and users."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = _created()


class User(Base):
    """Someone who logs in to the portal or the API."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20), default="client")
    client_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("clients.id", ondelete="CASCADE")
    )
    language: Mapped[str | None] = mapped_column(sa.String(5))
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created()


class ApiToken(Base):
    """A bearer token for the API, stored only as a hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Project(Base):
    """One client website and how its articles are written and published."""

    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(200), unique=True)
    site_url: Mapped[str | None] = mapped_column(sa.String(500))
    language: Mapped[str] = mapped_column(sa.String(5), default="nl")
    tone: Mapped[str] = mapped_column(sa.String(100), default="informative")
    target_words: Mapped[int] = mapped_column(default=800)
    post_status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    categories: Mapped[list[str]] = mapped_column(JSONData, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONData, default=list)
    writer: Mapped[str] = mapped_column(sa.String(40), default="offline")
    writer_settings: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    publisher: Mapped[str] = mapped_column(sa.String(40), default="folder")
    publisher_settings: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    secrets: Mapped[dict[str, str]] = mapped_column(JSONData, default=dict)
    schedule_cron: Mapped[str | None] = mapped_column(sa.String(100))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Amsterdam")
    autopilot_enabled: Mapped[bool] = mapped_column(default=False)
    scheduled_through: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created()


class Keyword(Base):
    """One entry of a project's content plan."""

    __tablename__ = "keywords"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "keyword"),
        sa.Index("ix_keywords_next", "project_id", "state", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE")
    )
    keyword: Mapped[str] = mapped_column(sa.String(300))
    priority: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(sa.String(20), default="queued")
    job_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = _created()
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Article(Base):
    """An article a run wrote; the checkpoint between writing and publishing."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    """Random and unique across installations: the key publishers dedupe by."""
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    keyword_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("keywords.id", ondelete="SET NULL")
    )
    keyword: Mapped[str] = mapped_column(sa.String(300))
    title: Mapped[str] = mapped_column(sa.String(300))
    slug: Mapped[str] = mapped_column(sa.String(300))
    meta_description: Mapped[str] = mapped_column(sa.String(300))
    body_markdown: Mapped[str] = mapped_column(sa.Text())
    body_html: Mapped[str] = mapped_column(sa.Text())
    word_count: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(sa.String(5))
    writer: Mapped[str] = mapped_column(sa.String(40))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    remote_id: Mapped[str | None] = mapped_column(sa.String(300))
    remote_url: Mapped[str | None] = mapped_column(sa.String(1000))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = _created()


class Job(Base):
    """A unit of background work and its current attempt."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The rule "one active run per project" lives here, not in code.
        sa.Index(
            "uq_jobs_one_active_per_project",
            "project_id",
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'running')"),
            postgresql_where=sa.text("status IN ('pending', 'running')"),
        ),
        sa.Index(
            "ix_jobs_due",
            "run_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_jobs_running_worker",
            "worker_id",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
        sa.Index("ix_jobs_project_newest", "project_id", "id"),
        # Ids are never reused, so an old job's history never joins a new one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(100))
    project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    stage: Mapped[str | None] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker_id: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stage_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[int] = mapped_column(default=0)
    progress_message: Mapped[str | None] = mapped_column(sa.String(300))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error_code: Mapped[str | None] = mapped_column(sa.String(60))
    error_message: Mapped[str | None] = mapped_column(sa.Text())
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobEvent(Base):
    """One transition of one job: the append-only audit log and live feed.

    Not a foreign key to ``jobs``: the history outlives a deleted job.
    """

    __tablename__ = "job_events"
    __table_args__ = (
        sa.Index("ix_job_events_job", "job_id", "id"),
        sa.Index("ix_job_events_project", "project_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(BigId)
    project_id: Mapped[int | None] = mapped_column()
    event: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(40))
    to_status: Mapped[str] = mapped_column(sa.String(40))
    attempt: Mapped[int] = mapped_column(default=0)
    code: Mapped[str | None] = mapped_column(sa.String(60))
    reason: Mapped[str | None] = mapped_column(sa.Text())
    progress: Mapped[int | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Worker(Base):
    """A worker process, so others can tell when it is gone."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column()
    process_start: Mapped[str | None] = mapped_column(sa.String(40))
    lock_key: Mapped[int] = mapped_column()
    concurrency: Mapped[int] = mapped_column(default=1)
    kinds: Mapped[list[str]] = mapped_column(JSONData, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_reason: Mapped[str | None] = mapped_column(sa.String(200))
