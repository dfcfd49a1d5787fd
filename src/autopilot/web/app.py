"""The web app: portal pages, JSON API, live events, health and metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from autopilot import __version__
from autopilot.db import Database
from autopilot.errors import ConfigError
from autopilot.jobs.worker import Worker
from autopilot.pipeline.secretbox import secret_key
from autopilot.runtime import build_worker, job_kinds, open_database
from autopilot.settings import Settings
from autopilot.web import errors
from autopilot.web.broker import EventBroker
from autopilot.web.deps import Services
from autopilot.web.metrics import Metrics
from autopilot.web.routes import (
    admin,
    api_events,
    api_jobs,
    api_projects,
    auth,
    docs,
    health,
    portal,
    project_settings,
)
from autopilot.web.sessions import SessionCodec

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
WORKER_STOP_EXTRA_SECONDS = 5.0

# Pages load nothing from elsewhere; scripts and styles come from /static only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(
    settings: Settings, *, db: Database | None = None, run_worker: bool = True
) -> FastAPI:
    """Build the app; unless ``run_worker`` is False it also runs a worker
    (with the scheduler) in a background thread for as long as it serves."""
    key = secret_key(settings)
    if not key:
        raise ConfigError(
            "No secret key for session cookies: set AUTOPILOT_SECRET_KEY to a long "
            "random string, or start the demo with `autopilot serve --demo`."
        )
    owns_db = db is None
    database = db if db is not None else open_database(settings)
    broker = EventBroker(database, settings)
    services = Services(
        settings=settings,
        db=database,
        sessions=SessionCodec(
            key,
            max_age=settings.session_max_age_seconds,
            secure=settings.cookie_secure,
        ),
        broker=broker,
        metrics=Metrics(database, broker),
        templates=Jinja2Templates(directory=HERE / "templates"),
        stages=sorted({s.name for kind in job_kinds(settings) for s in kind.stages}),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker.start()
        thread = None
        if run_worker:
            services.worker = build_worker(settings, database)
            thread = threading.Thread(
                target=services.worker.run, name="embedded-worker", daemon=True
            )
            thread.start()
        try:
            yield
        finally:
            broker.stop()
            if services.worker is not None:
                _stop_worker(services.worker, settings)
            if owns_db:
                database.dispose()

    app = FastAPI(
        title="Autopilot",
        version=__version__,
        summary="Writes and publishes SEO articles; every run is shown live.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        api_projects,
        api_jobs,
        api_events,
        health,
        docs,
        auth,
        portal,
        project_settings,
        admin,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _stop_worker(worker: Worker, settings: Settings) -> None:
    worker.stop()
    timeout = settings.shutdown_grace_seconds + WORKER_STOP_EXTRA_SECONDS
    if not worker.wait_stopped(timeout):
        log.warning(
            "embedded worker did not stop within %.0f s",
            timeout,
            extra={"event": "worker_stop_timeout", "worker_id": worker.id},
        )
