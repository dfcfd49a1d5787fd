"""Clients and projects: who the articles are for and where they go."""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session

from autopilot.errors import Conflict, InvalidInput, NotFound
from autopilot.models import Client, Project


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
