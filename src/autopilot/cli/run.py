"""``autopilot run``: the portal's Run-now button on the command line."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from autopilot.cli.common import console, err_console, state
from autopilot.db import Database
from autopilot.jobs import control, liveness
from autopilot.jobs.queue import ActiveJobConflict
from autopilot.jobs.records import JobRecord
from autopilot.logs import configure_logging
from autopilot.pipeline import projects
from autopilot.pipeline.demo import seed_demo
from autopilot.pipeline.runs import request_run
from autopilot.runtime import build_worker

FOLLOW_INTERVAL_SECONDS = 0.25


def run(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project id, slug or name.")],
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Only enqueue; do not follow the run.")
    ] = False,
) -> None:
    """Run a project now and follow it live; exit 0 on completed, 1 on failed."""
    settings = state(ctx).settings()
    configure_logging(settings.log_format, "WARNING")
    db = state(ctx).database()
    with db.session() as session:
        target = projects.find_project(session, project)
    try:
        outcome = request_run(db, settings, target.id)
    except ActiveJobConflict as conflict:
        err_console.print(
            f"[bold red]error:[/] {escape(conflict.message)} "
            f"See `autopilot jobs show {conflict.job.id}`.",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None

    job = outcome.job
    verb = "started" if outcome.created else "was pending and starts now"
    console.print(f"Run {job.id} for project {escape(target.name)} {verb}.")
    if no_wait:
        return

    worker = None
    if not liveness.alive_workers(db, settings.lease_seconds):
        console.print("No worker is running: this command works the run itself.")
        worker = build_worker(settings, db, only_job_id=job.id)
        threading.Thread(target=worker.run, daemon=True).start()
    try:
        final = _follow(db, job.id)
    finally:
        if worker is not None:
            worker.stop()
            worker.wait_stopped(settings.shutdown_grace_seconds + 5)
    _report(final)


def _follow(db: Database, job_id: int) -> JobRecord:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("pending", total=100)
        while True:
            job = control.get_job(db, job_id)
            message = f" · {job.progress_message}" if job.progress_message else ""
            progress.update(
                task,
                completed=job.progress,
                description=escape(f"{job.shown_status}{message}"[:70]),
            )
            if job.is_finished:
                return job
            time.sleep(FOLLOW_INTERVAL_SECONDS)


def _report(job: JobRecord) -> None:
    if job.status == "completed":
        result = job.result or {}
        title = escape(str(result.get("title", "")))
        console.print(f"[green]completed[/]: {title}", soft_wrap=True)
        if result.get("url"):
            console.print(f"Published at {escape(result['url'])}", soft_wrap=True)
        return
    err_console.print(
        f"[bold red]{job.status}[/] ({job.error_code}): "
        f"{escape(job.error_message or '')}",
        soft_wrap=True,
    )
    raise typer.Exit(1)


def demo(ctx: typer.Context) -> None:
    """Set up the demo once: database, a client, a project and its content plan."""
    db = state(ctx).database(require_schema=False)
    db.upgrade()
    info = seed_demo(db, state(ctx).settings())
    if info.created:
        console.print(f"Demo project '{info.project_slug}' created.")
    else:
        console.print(f"Demo project '{info.project_slug}' is already there.")
    console.print(f"Try: autopilot run {info.project_slug}")
