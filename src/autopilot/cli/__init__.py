"""The ``autopilot`` command line; every option is also an AUTOPILOT_* variable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from autopilot.cli import catalog, jobs, run, serve, system, users
from autopilot.cli.common import State, err_console
from autopilot.errors import AutopilotError

app = typer.Typer(
    help="Autopilot: writes and publishes SEO articles, and never leaves a run stuck.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(system.db_app, name="db")
app.add_typer(catalog.clients_app, name="clients")
app.add_typer(catalog.projects_app, name="projects")
app.add_typer(jobs.jobs_app, name="jobs")
app.command("worker")(system.worker)
app.command("run")(run.run)
app.command("demo")(run.demo)
app.add_typer(catalog.keywords_app, name="keywords")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.command("serve")(serve.serve)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str,
        typer.Option(
            envvar="AUTOPILOT_DATABASE_URL",
            show_envvar=True,
            help="Database URL; default a SQLite file in the data directory.",
        ),
    ] = "",
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="AUTOPILOT_DATA_DIR",
            show_envvar=True,
            help="Where the SQLite file, secrets key and output live.",
        ),
    ] = Path("autopilot-data"),
    log_format: Annotated[
        str,
        typer.Option(
            envvar="AUTOPILOT_LOG_FORMAT",
            show_envvar=True,
            help="Log lines as 'text' or 'json'.",
        ),
    ] = "text",
    log_level: Annotated[
        str,
        typer.Option(
            envvar="AUTOPILOT_LOG_LEVEL", show_envvar=True, help="Lowest log level."
        ),
    ] = "INFO",
) -> None:
    """Autopilot's command line."""
    ctx.obj = State(
        overrides={
            "database_url": database_url,
            "data_dir": data_dir,
            "log_format": log_format,
            "log_level": log_level,
        }
    )


def main() -> None:
    """Entry point: expected errors become one line and a non-zero exit."""
    try:
        app()
    except AutopilotError as exc:
        # One line whatever the width; the message is text, never markup.
        message = escape(exc.message)
        err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
