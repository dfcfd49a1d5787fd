"""Clients and projects: who the articles are for and where they go."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from autopilot.errors import Conflict, InvalidInput, NotFound
from autopilot.models import Client, Project
from autopilot.pipeline.schedule import check_cron, check_timezone
from autopilot.settings import Settings

LANGUAGES = ("nl", "en")
POST_STATUSES = ("draft", "publish")


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "project"


def add_client(session: Session, name: str) -> Client:
    name = name.strip()
    if not name:
        raise InvalidInput("A client needs a name.")
    if session.scalar(sa.select(Client).where(Client.name == name)):
        raise Conflict(f"There is already a client named {name!r}.")
    client = Client(name=name)
    session.add(client)
    session.flush()
    return client


def find_client(session: Session, ref: str) -> Client:
    """A client by id or exact name."""
    query = sa.select(Client).where(Client.name == ref)
    if ref.isdigit():
        query = sa.select(Client).where(
            sa.or_(Client.id == int(ref), Client.name == ref)
        )
    client = session.scalar(query)
    if client is None:
        raise NotFound(
            f"There is no client {ref!r}. See `autopilot clients list`, or add it "
            "with `autopilot clients add NAME`."
        )
    return client


def list_clients(session: Session) -> list[Client]:
    return list(session.scalars(sa.select(Client).order_by(Client.name)))


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while session.scalar(sa.select(Project.id).where(Project.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def add_project(session: Session, name: str, client: Client) -> Project:
    name = name.strip()
    if not name:
        raise InvalidInput("A project needs a name.")
    taken = sa.select(Project.id).where(
        Project.client_id == client.id, Project.name == name
    )
    if session.scalar(taken):
        raise Conflict(f"Client {client.name!r} already has a project named {name!r}.")
    project = Project(
        name=name,
        client_id=client.id,
        slug=_unique_slug(session, name),
        categories=[],
        tags=[],
        writer_settings={},
        publisher_settings={},
        secrets={},
    )
    session.add(project)
    session.flush()
    return project


def find_project(session: Session, ref: str) -> Project:
    """A project by id, slug or name (a name must be unambiguous)."""
    conditions = [Project.slug == ref, Project.name == ref]
    if ref.isdigit():
        conditions.append(Project.id == int(ref))
    matches = list(session.scalars(sa.select(Project).where(sa.or_(*conditions))))
    if len(matches) > 1:
        exact = [p for p in matches if str(p.id) == ref or p.slug == ref]
        if len(exact) == 1:
            return exact[0]
        raise InvalidInput(
            f"More than one project is called {ref!r}; name it by id or slug."
        )
    if not matches:
        raise NotFound(
            f"There is no project {ref!r}. See `autopilot projects list`, or add "
            "one with `autopilot projects add NAME --client CLIENT`."
        )
    return matches[0]


def list_projects(session: Session, client_id: int | None = None) -> list[Project]:
    query = sa.select(Project).order_by(Project.name)
    if client_id is not None:
        query = query.where(Project.client_id == client_id)
    return list(session.scalars(query))


@dataclass
class ProjectUpdate:
    """Changes to a project's settings; None leaves a setting as it is."""

    site_url: str | None = None
    language: str | None = None
    tone: str | None = None
    target_words: int | None = None
    post_status: str | None = None
    categories: list[str] | None = None
    tags: list[str] | None = None
    writer: str | None = None
    writer_settings: dict[str, Any] = field(default_factory=dict)
    publisher: str | None = None
    publisher_settings: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    schedule_cron: str | None = None
    timezone: str | None = None
    autopilot_enabled: bool | None = None


SECRET_NAMES = ("writer_api_key", "publisher_app_password", "publisher_secret")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"{name} must be one of {', '.join(allowed)}; got {value!r}."
        )
    return value


def apply_update(
    session: Session, project: Project, update: ProjectUpdate, settings: Settings
) -> None:
    """Validate and apply a settings change; nothing changes if any part is bad."""
    from autopilot.pipeline.publishers import PUBLISHER_KINDS
    from autopilot.pipeline.writers import KNOWN_WRITERS

    _check(update, settings, KNOWN_WRITERS, PUBLISHER_KINDS)
    if update.language is not None:
        project.language = _choice("language", update.language, LANGUAGES)
    if update.post_status is not None:
        project.post_status = _choice("post status", update.post_status, POST_STATUSES)
    if update.writer is not None:
        project.writer = _choice("writer", update.writer, KNOWN_WRITERS)
    if update.publisher is not None:
        project.publisher = _choice("publisher", update.publisher, PUBLISHER_KINDS)
    if update.target_words is not None:
        if not 100 <= update.target_words <= 10_000:
            raise InvalidInput("target words must be between 100 and 10000.")
        project.target_words = update.target_words
    if update.site_url is not None:
        project.site_url = update.site_url.strip() or None
    if update.tone is not None:
        project.tone = update.tone.strip()[:100] or "informative"
    if update.categories is not None:
        project.categories = _names(update.categories)
    if update.tags is not None:
        project.tags = _names(update.tags)
    if update.timezone is not None:
        check_timezone(update.timezone)
        project.timezone = update.timezone
    if update.schedule_cron is not None:
        cron = update.schedule_cron.strip()
        project.schedule_cron = check_cron(cron) if cron else None
    if update.autopilot_enabled is not None:
        if update.autopilot_enabled and not project.autopilot_enabled:
            # Resuming starts from now: slots missed while paused do not fire.
            project.scheduled_through = datetime.now(UTC)
        project.autopilot_enabled = update.autopilot_enabled
    if update.writer_settings:
        project.writer_settings = {**project.writer_settings, **update.writer_settings}
    if update.publisher_settings:
        project.publisher_settings = {
            **project.publisher_settings,
            **update.publisher_settings,
        }
    if update.secrets:
        _store_secrets(project, update.secrets, settings)


def _check(
    update: ProjectUpdate,
    settings: Settings,
    writers: tuple[str, ...],
    publishers: tuple[str, ...],
) -> None:
    """Raise on the first bad part of an update, before any part is applied."""
    from autopilot.pipeline.secretbox import SecretBox

    choices = (
        ("language", update.language, LANGUAGES),
        ("post status", update.post_status, POST_STATUSES),
        ("writer", update.writer, writers),
        ("publisher", update.publisher, publishers),
    )
    for name, value, allowed in choices:
        if value is not None:
            _choice(name, value, allowed)
    if update.target_words is not None and not 100 <= update.target_words <= 10_000:
        raise InvalidInput("target words must be between 100 and 10000.")
    if update.timezone is not None:
        check_timezone(update.timezone)
    if update.schedule_cron is not None and update.schedule_cron.strip():
        check_cron(update.schedule_cron.strip())
    unknown = set(update.secrets) - set(SECRET_NAMES)
    if unknown:
        raise InvalidInput(f"Unknown secret {sorted(unknown)[0]!r}.")
    if any(update.secrets.values()):
        SecretBox.from_settings(settings)


def _names(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


def _store_secrets(
    project: Project, secrets: dict[str, str], settings: Settings
) -> None:
    from autopilot.pipeline.secretbox import SecretBox

    unknown = set(secrets) - set(SECRET_NAMES)
    if unknown:
        raise InvalidInput(f"Unknown secret {sorted(unknown)[0]!r}.")
    box = SecretBox.from_settings(settings)
    sealed = dict(project.secrets or {})
    for name, value in secrets.items():
        if value:
            sealed[name] = box.seal(value)
        else:
            sealed.pop(name, None)
    project.secrets = sealed


def describe(project: Project) -> dict[str, Any]:
    """A project's settings for output; secrets only say whether they are set."""
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "clientId": project.client_id,
        "siteUrl": project.site_url,
        "language": project.language,
        "tone": project.tone,
        "targetWords": project.target_words,
        "postStatus": project.post_status,
        "categories": list(project.categories or []),
        "tags": list(project.tags or []),
        "writer": project.writer,
        "writerSettings": dict(project.writer_settings or {}),
        "publisher": project.publisher,
        "publisherSettings": dict(project.publisher_settings or {}),
        "secretsSet": sorted(project.secrets or {}),
        "schedule": project.schedule_cron,
        "timezone": project.timezone,
        "autopilotEnabled": project.autopilot_enabled,
    }
