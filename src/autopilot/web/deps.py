"""Who is asking and what they may see: the dependencies every route uses.

:func:`get_access` is the one ownership check. A client's user sees only
its own client's projects and their jobs; anything else answers 404, exactly
like an id that does not exist, so ids of other clients reveal nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from autopilot.accounts import Account, FailureWindow, account_for_token, get_account
from autopilot.db import Database
from autopilot.errors import NotFound
from autopilot.jobs import control, reaper
from autopilot.jobs.records import JobRecord
from autopilot.models import Project
from autopilot.runtime import retry_policy
from autopilot.settings import Settings
from autopilot.web.errors import Forbidden, NotAuthenticated
from autopilot.web.i18n import Translator, negotiate
from autopilot.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SessionCodec,
    SessionData,
    tokens_match,
)

if TYPE_CHECKING:
    from autopilot.jobs.worker import Worker
    from autopilot.web.broker import EventBroker
    from autopilot.web.metrics import Metrics

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def read_session(db: Database) -> Iterator[Session]:
    """An ORM session for reading only; unlike ``db.session()`` it takes no
    write lock. Objects stay readable after it closes."""
    with db.read() as conn, Session(bind=conn, expire_on_commit=False) as session:
        yield session


@dataclass
class Services:
    """What the app was built with; one per app, on ``app.state.services``."""

    settings: Settings
    db: Database
    sessions: SessionCodec
    broker: EventBroker
    metrics: Metrics
    templates: Jinja2Templates
    stages: Sequence[str]
    login_failures: FailureWindow = field(default_factory=FailureWindow)
    worker: Worker | None = None


def get_services(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Identity:
    """The credentials a request carried, checked for form but not yet looked up."""

    session: SessionData | None = None
    bearer: str | None = None


async def identify(request: Request, services: ServicesDep) -> Identity:
    """Read the bearer token or session cookie; cookie writes need a CSRF token.

    Requests with a bearer token are exempt: a browser never adds one by itself.
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Use the header Authorization: Bearer <token>.")
        return Identity(bearer=token.strip())

    session = services.sessions.read(request)
    if session is not None and request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if given is None and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not tokens_match(session.csrf, given):
            raise Forbidden(
                "The CSRF token is missing or wrong. Reload the page and try again.",
                code="csrf_failed",
            )
    return Identity(session=session)


IdentityDep = Annotated[Identity, Depends(identify)]


def current_account(identity: IdentityDep, services: ServicesDep) -> Account | None:
    """The signed-in user, or None for an anonymous request."""
    if identity.bearer is not None:
        account = account_for_token(services.db, identity.bearer)
        if account is None:
            raise NotAuthenticated("Unknown or revoked API token.")
        return account
    session = identity.session
    if session is None or session.user_id is None:
        return None
    account = get_account(services.db, session.user_id)
    if account is None or account.password_fingerprint != session.fingerprint:
        return None
    return account


AccountDep = Annotated["Account | None", Depends(current_account)]


class Access:
    """What one user may see and change, resolved once per request."""

    def __init__(
        self, account: Account, services: Services, project_ids: frozenset[int] | None
    ) -> None:
        self.account = account
        self.services = services
        self.db = services.db
        self.settings = services.settings
        self._project_ids = project_ids
        """None for an admin, who sees every project."""

    @property
    def is_admin(self) -> bool:
        return self._project_ids is None

    def can_see(self, project_id: int | None) -> bool:
        if self._project_ids is None:
            return True
        return project_id is not None and project_id in self._project_ids

    def project(self, project_id: int) -> Project:
        """A project this user may see; otherwise 404, as if it did not exist."""
        if not self.can_see(project_id):
            raise NotFound(f"There is no project {project_id}.")
        with read_session(self.db) as session:
            project = session.get(Project, project_id)
        if project is None:
            raise NotFound(f"There is no project {project_id}.")
        return project

    def projects(self) -> list[Project]:
        query = sa.select(Project).order_by(Project.name, Project.id)
        if self._project_ids is not None:
            query = query.where(Project.id.in_(sorted(self._project_ids)))
        with read_session(self.db) as session:
            return list(session.scalars(query))

    def job(self, job_id: int) -> JobRecord:
        """A job of a project this user may see; otherwise 404."""
        job = control.get_job(self.db, job_id)
        if not self.can_see(job.project_id):
            raise NotFound(f"There is no job {job_id}.")
        return job

    def scope(self, project_id: int | None) -> list[int] | None:
        """Project ids to filter by: the one asked for (if visible), or all visible.

        None means no filter (an admin looking at everything).
        """
        if project_id is not None:
            self.project(project_id)
            return [project_id]
        if self._project_ids is None:
            return None
        return sorted(self._project_ids)

    def recover(self, project_id: int | None = None) -> None:
        """Apply the reaper before a read, so what we show is never staler than
        the lease, even when no worker runs."""
        reaper.reap(
            self.db,
            retry_policy(self.settings),
            lease_seconds=self.settings.lease_seconds,
            project_id=project_id,
        )


def get_access(account: AccountDep, services: ServicesDep) -> Access:
    """The ownership dependency: every route takes it, none repeats the check."""
    if account is None:
        raise NotAuthenticated("Log in, or send an API token as a Bearer header.")
    if account.is_admin:
        return Access(account, services, None)
    query = sa.select(Project.id).where(Project.client_id == account.client_id)
    with services.db.read() as conn:
        ids = frozenset(conn.execute(query).scalars())
    return Access(account, services, ids)


AccessDep = Annotated[Access, Depends(get_access)]


def get_admin(access: AccessDep) -> Access:
    if not access.is_admin:
        raise Forbidden("Only administrators may see this page.")
    return access


AdminDep = Annotated[Access, Depends(get_admin)]


def translator(request: Request, account: AccountDep) -> Translator:
    """The user's language, else the browser's, else Dutch."""
    preferred = account.language if account is not None else None
    return Translator(negotiate(preferred, request.headers.get("accept-language")))


TranslatorDep = Annotated[Translator, Depends(translator)]
