"""Commands that run or prepare Autopilot itself: ``db upgrade``, ``worker``."""

from __future__ import annotations

from typing import Annotated

import typer

from autopilot.cli.common import console, state
from autopilot.logs import configure_logging
from autopilot.runtime import build_worker

db_app = typer.Typer(help="The database: create and migrate it.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database to the current schema."""
    db = state(ctx).database(require_schema=False)
    before, after = db.upgrade()
    if before == after:
        console.print(f"Database already at revision {after}.")
    else:
        console.print(f"Database migrated from {before or 'empty'} to {after}.")


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            envvar="AUTOPILOT_CONCURRENCY",
            show_envvar=True,
            help="Jobs this process runs at once.",
        ),
    ] = 1,
    burst: Annotated[
        bool,
        typer.Option(
            envvar="AUTOPILOT_BURST",
            show_envvar=True,
            help="Process what is due, then exit (for cron and tests).",
        ),
    ] = False,
    heartbeat_seconds: Annotated[
        float,
        typer.Option(
            envvar="AUTOPILOT_HEARTBEAT_SECONDS",
            show_envvar=True,
            help="How often leases are renewed.",
        ),
    ] = 5.0,
    lease_seconds: Annotated[
        float,
        typer.Option(
            envvar="AUTOPILOT_LEASE_SECONDS",
            show_envvar=True,
            help="How long a job stays ours without a heartbeat.",
        ),
    ] = 30.0,
    reap_interval_seconds: Annotated[
        float,
        typer.Option(
            envvar="AUTOPILOT_REAP_INTERVAL_SECONDS",
            show_envvar=True,
            help="How often lost and hung jobs are recovered.",
        ),
    ] = 5.0,
    max_attempts: Annotated[
        int,
        typer.Option(
            envvar="AUTOPILOT_MAX_ATTEMPTS",
            show_envvar=True,
            help="Attempts a job gets before it fails for good.",
        ),
    ] = 3,
    generating_timeout_seconds: Annotated[
        float,
        typer.Option(
            envvar="AUTOPILOT_GENERATING_TIMEOUT_SECONDS",
            show_envvar=True,
            help="Longest a run may stay generating.",
        ),
    ] = 900.0,
    publishing_timeout_seconds: Annotated[
        float,
        typer.Option(
            envvar="AUTOPILOT_PUBLISHING_TIMEOUT_SECONDS",
            show_envvar=True,
            help="Longest a run may stay publishing.",
        ),
    ] = 300.0,
) -> None:
    """Run jobs: claim, heartbeat, recover lost jobs; stop cleanly on SIGTERM."""
    settings = state(ctx).settings(
        heartbeat_seconds=heartbeat_seconds,
        lease_seconds=lease_seconds,
        reap_interval_seconds=reap_interval_seconds,
        max_attempts=max_attempts,
        generating_timeout_seconds=generating_timeout_seconds,
        publishing_timeout_seconds=publishing_timeout_seconds,
    )
    configure_logging(settings.log_format, settings.log_level)
    db = state(ctx).database()
    build_worker(settings, db, concurrency=concurrency, burst=burst).run()
