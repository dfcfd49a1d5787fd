"""``autopilot serve``: the portal and API, with a worker and scheduler inside."""

from __future__ import annotations

import secrets
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import sqlalchemy as sa
import typer

from autopilot import accounts
from autopilot.cli.common import console, state
from autopilot.db import Database
from autopilot.logs import configure_logging
from autopilot.models import Client, User
from autopilot.pipeline.demo import seed_demo
from autopilot.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from autopilot.web.broker import EventBroker

DEMO_EMAIL = "demo@example.com"
SHUTDOWN_SECONDS = 5


def _server(config: uvicorn.Config, broker: EventBroker) -> uvicorn.Server:
    """Uvicorn that ends the live event streams when asked to stop, so
    shutdown does not wait for browsers to hang up."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            broker.close_streams()
            super().handle_exit(sig, frame)

    return Server(config)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            envvar="AUTOPILOT_HOST", show_envvar=True, help="Address to bind."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, envvar="AUTOPILOT_PORT", show_envvar=True, help="Port."
        ),
    ] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            envvar="AUTOPILOT_NO_WORKER",
            show_envvar=True,
            help="Serve only; run `autopilot worker` elsewhere.",
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            envvar="AUTOPILOT_DEMO",
            show_envvar=True,
            help="Set up the demo client, project and user first (prints the login).",
        ),
    ] = False,
) -> None:
    """Serve the portal and API; unless --no-worker, also run jobs and schedules."""
    settings = state(ctx).settings()
    configure_logging(settings.log_format, settings.log_level)
    db = state(ctx).database(require_schema=not demo)
    if demo:
        db.upgrade()
        _demo_login(db, settings)
    # The web stack loads only here, so other commands start quickly.
    import uvicorn

    from autopilot.web import create_app

    app = create_app(settings, db=db, run_worker=not no_worker)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        proxy_headers=True,
    )
    console.print(
        f"Autopilot on http://{host}:{port}/ (API reference at /docs)", soft_wrap=True
    )
    try:
        _server(config, app.state.services.broker).run()
    finally:
        db.dispose()


def _demo_login(db: Database, settings: Settings) -> None:
    """Seed the demo and give its user a fresh password, printed once."""
    info = seed_demo(db, settings)
    password = secrets.token_urlsafe(12)
    with db.session() as session:
        exists = session.scalar(sa.select(User.id).where(User.email == DEMO_EMAIL))
        if exists:
            accounts.set_password(session, DEMO_EMAIL, password)
        else:
            client = session.get(Client, info.client_id)
            assert client is not None
            accounts.create_user(session, DEMO_EMAIL, password, client=client)
    console.print(
        f"Demo ready: log in as {DEMO_EMAIL} with password {password} "
        f"(project '{info.project_slug}').",
        soft_wrap=True,
    )
