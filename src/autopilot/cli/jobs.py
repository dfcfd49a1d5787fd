"""Commands for jobs: enqueue, list, show, reap, cancel, retry, delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from autopilot.cli.common import cells, console, print_json, state, when
from autopilot.jobs import control, queue, reaper
from autopilot.jobs.builtin import sleep_payload
from autopilot.jobs.records import JobRecord
from autopilot.pipeline import projects
from autopilot.runtime import job_kinds, retry_policy

jobs_app = typer.Typer(help="Jobs: look at them and act on them.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ProjectOption = Annotated[
    str | None, typer.Option("--project", help="Project id, slug or name.")
]


def job_dict(job: JobRecord) -> dict[str, Any]:
    """A job for ``--json``: what the API shows, and the engine's own view."""
    return {
        **job.public_fields(),
        "engineStatus": job.status,
        "workerId": job.worker_id,
        "leaseExpiresAt": job.lease_expires_at,
        "result": job.result,
    }


def _project_id(ctx: typer.Context, ref: str | None) -> int | None:
    if ref is None:
        return None
    with state(ctx).database().session() as session:
        return projects.find_project(session, ref).id


@jobs_app.command("enqueue")
def enqueue(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="Job kind, e.g. sleep or noop.")],
    project: ProjectOption = None,
    seconds: Annotated[float, typer.Option(help="For sleep: how long.")] = 5.0,
) -> None:
    """Enqueue a built-in job (``sleep`` heartbeats and honours cancel)."""
    settings = state(ctx).settings()
    job_kinds(settings).get(kind)
    payload = sleep_payload(seconds) if kind == "sleep" else {}
    db = state(ctx).database()
    outcome = queue.enqueue(
        db,
        kind,
        project_id=_project_id(ctx, project),
        payload=payload,
        max_attempts=settings.max_attempts,
    )
    job = outcome.job
    if outcome.created:
        console.print(f"Job {job.id} enqueued ({kind}).")
    else:
        console.print(
            f"Job {job.id} of this project is already {job.shown_status}; "
            "no new job was made."
        )


@jobs_app.command("list")
def list_(
    ctx: typer.Context,
    project: ProjectOption = None,
    status: Annotated[
        str | None,
        typer.Option(help="pending, generating, publishing, completed, ..."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List jobs, newest first."""
    settings = state(ctx).settings()
    stages = [s.name for kind in job_kinds(settings) for s in kind.stages]
    status = control.parse_status_filter(status, stages)
    project_id = _project_id(ctx, project)
    found = control.list_jobs(
        state(ctx).database(),
        project_ids=None if project_id is None else [project_id],
        status=status,
        limit=limit,
    )
    if as_json:
        print_json([job_dict(job) for job in found])
        return
    table = Table("id", "project", "kind", "status", "attempt", "progress", "started")
    table.add_column("error", overflow="fold")
    for job in found:
        table.add_row(
            *cells(
                str(job.id),
                str(job.project_id or "-"),
                job.kind,
                job.shown_status,
                f"{job.attempt}/{job.max_attempts}",
                f"{job.progress}%",
                when(job.started_at),
                job.error_message or "",
            )
        )
    console.print(table)


@jobs_app.command("show")
def show(ctx: typer.Context, job_id: int, as_json: JsonFlag = False) -> None:
    """Show a job and its history."""
    db = state(ctx).database()
    job = control.get_job(db, job_id)
    events = control.job_events(db, job_id)
    if as_json:
        print_json({**job_dict(job), "events": [e.public_fields() for e in events]})
        return
    console.print(
        f"Job {job.id} ({job.kind}) is [bold]{job.shown_status}[/], "
        f"attempt {job.attempt} of {job.max_attempts}, {job.progress}%"
    )
    if job.error_message:
        console.print(f"Error ({job.error_code}): {job.error_message}")
    table = Table("at", "event", "from", "to", "attempt")
    table.add_column("reason", overflow="fold")
    for event in events:
        table.add_row(
            *cells(
                when(event.at),
                event.event,
                event.from_status or "-",
                event.to_status,
                str(event.attempt),
                event.reason or "",
            )
        )
    console.print(table)


@jobs_app.command("reap")
def reap(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Recover lost and hung jobs now, and say what was recovered."""
    settings = state(ctx).settings()
    recovered = reaper.reap(
        state(ctx).database(),
        retry_policy(settings),
        lease_seconds=settings.lease_seconds,
    )
    if as_json:
        print_json([r.__dict__ for r in recovered])
        return
    if not recovered:
        console.print("Nothing to recover: no job has a lost worker or an overrun.")
    for r in recovered:
        console.print(f"Job {r.job_id}: {r.from_status} -> {r.to_status}: {r.reason}")


@jobs_app.command("cancel")
def cancel(ctx: typer.Context, job_id: int) -> None:
    """Cancel a job: pending at once, running at its next heartbeat."""
    job = control.cancel(state(ctx).database(), job_id, by="request from the CLI")
    if job.status == "cancelled":
        console.print(f"Job {job_id} cancelled.")
    else:
        console.print(f"Job {job_id}: cancel requested; its worker stops it shortly.")


@jobs_app.command("retry")
def retry(ctx: typer.Context, job_id: int) -> None:
    """Run a failed or cancelled job again, as a new job."""
    settings = state(ctx).settings()
    job = control.retry(
        state(ctx).database(), job_id, max_attempts=settings.max_attempts
    )
    console.print(f"Job {job_id} retried as job {job.id}.")


@jobs_app.command("delete")
def delete(ctx: typer.Context, job_id: int) -> None:
    """Delete a finished job (its history stays in the event log)."""
    control.delete(state(ctx).database(), job_id)
    console.print(f"Job {job_id} deleted.")
