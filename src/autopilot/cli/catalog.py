"""Commands for clients and projects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from autopilot.cli.common import cells, console, print_json, state
from autopilot.errors import InvalidInput
from autopilot.pipeline import keywords, projects

clients_app = typer.Typer(help="Clients: the customers projects belong to.")
projects_app = typer.Typer(help="Projects: one client website each.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@clients_app.command("add")
def clients_add(ctx: typer.Context, name: str) -> None:
    """Add a client."""
    with state(ctx).database().session() as session:
        client = projects.add_client(session, name)
        console.print(f"Client {client.id} added: {client.name}")


@clients_app.command("list")
def clients_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List clients."""
    with state(ctx).database().session() as session:
        rows: list[dict[str, Any]] = [
            {"id": c.id, "name": c.name} for c in projects.list_clients(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name")
    for row in rows:
        table.add_row(*cells(str(row["id"]), row["name"]))
    console.print(table)


@projects_app.command("add")
def projects_add(
    ctx: typer.Context,
    name: str,
    client: Annotated[str, typer.Option(help="Client name or id.")],
) -> None:
    """Add a project for a client."""
    with state(ctx).database().session() as session:
        owner = projects.find_client(session, client)
        project = projects.add_project(session, name, owner)
        console.print(f"Project {project.id} added: {project.name} ({project.slug})")
    console.print(
        f"Set it up with `autopilot projects set {project.slug} --help`, then add "
        f"keywords with `autopilot keywords add {project.slug} KEYWORD...`."
    )


@projects_app.command("list")
def projects_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List projects."""
    with state(ctx).database().session() as session:
        rows: list[dict[str, Any]] = [
            {"id": p.id, "name": p.name, "slug": p.slug, "clientId": p.client_id}
            for p in projects.list_projects(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "slug", "client")
    for row in rows:
        table.add_row(
            *cells(str(row["id"]), row["name"], row["slug"], str(row["clientId"]))
        )
    console.print(table)


@projects_app.command("show")
def projects_show(ctx: typer.Context, project: str, as_json: JsonFlag = False) -> None:
    """Show a project's settings (secrets only say whether they are set)."""
    with state(ctx).database().session() as session:
        data = projects.describe(projects.find_project(session, project))
    if as_json:
        print_json(data)
        return
    table = Table("setting", "value", show_header=False)
    for key, value in data.items():
        table.add_row(
            *cells(key, ", ".join(value) if isinstance(value, list) else str(value))
        )
    console.print(table)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v for v in value.split(",") if v.strip()]


def _on_off(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("on", "true", "yes", "1"):
        return True
    if value.lower() in ("off", "false", "no", "0"):
        return False
    raise InvalidInput(f"--autopilot takes on or off, not {value!r}.")


Text = Annotated[str | None, typer.Option()]


@projects_app.command("set")
def projects_set(
    ctx: typer.Context,
    project: str,
    site_url: Text = None,
    language: Annotated[str | None, typer.Option(help="nl or en.")] = None,
    tone: Text = None,
    target_words: Annotated[int | None, typer.Option()] = None,
    post_status: Annotated[str | None, typer.Option(help="draft or publish.")] = None,
    categories: Annotated[str | None, typer.Option(help="Comma-separated.")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated.")] = None,
    writer: Annotated[str | None, typer.Option(help="offline or openai.")] = None,
    writer_base_url: Text = None,
    writer_model: Text = None,
    writer_api_key: Annotated[
        str | None, typer.Option(help="Stored encrypted; '' removes it.")
    ] = None,
    writer_section_delay: Annotated[float | None, typer.Option()] = None,
    publisher: Annotated[
        str | None, typer.Option(help="folder, wordpress or webhook.")
    ] = None,
    folder_path: Annotated[str | None, typer.Option(help="For folder.")] = None,
    wordpress_url: Text = None,
    wordpress_username: Text = None,
    wordpress_app_password: Annotated[
        str | None, typer.Option(help="Application password; stored encrypted.")
    ] = None,
    webhook_url: Text = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="HMAC key; stored encrypted.")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option(help="Cron, e.g. '0 9 * * 1-5'; '' removes it.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA name, e.g. Europe/Amsterdam.")
    ] = None,
    autopilot: Annotated[
        str | None, typer.Option(help="on or off: run on the schedule.")
    ] = None,
) -> None:
    """Change a project's settings; only the options given change."""
    writer_settings = {
        "base_url": writer_base_url,
        "model": writer_model,
        "section_delay_seconds": writer_section_delay,
    }
    publisher_settings = {
        "path": folder_path,
        "site_url": wordpress_url,
        "username": wordpress_username,
        "url": webhook_url,
    }
    secrets = {
        "writer_api_key": writer_api_key,
        "publisher_app_password": wordpress_app_password,
        "publisher_secret": webhook_secret,
    }
    update = projects.ProjectUpdate(
        site_url=site_url,
        language=language,
        tone=tone,
        target_words=target_words,
        post_status=post_status,
        categories=_csv(categories),
        tags=_csv(tags),
        writer=writer,
        writer_settings={k: v for k, v in writer_settings.items() if v is not None},
        publisher=publisher,
        publisher_settings={
            k: v for k, v in publisher_settings.items() if v is not None
        },
        secrets={k: v for k, v in secrets.items() if v is not None},
        schedule_cron=schedule,
        timezone=timezone,
        autopilot_enabled=_on_off(autopilot),
    )
    settings = state(ctx).settings()
    with state(ctx).database().session() as session:
        target = projects.find_project(session, project)
        projects.apply_update(session, target, update, settings)
        console.print(f"Project {target.name} updated.")


keywords_app = typer.Typer(help="Content plans: the keywords runs write about.")


@keywords_app.command("add")
def keywords_add(
    ctx: typer.Context,
    project: str,
    words: Annotated[list[str], typer.Argument(help="One or more keywords.")],
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
) -> None:
    """Add keywords to a project's content plan."""
    planned = [keywords.PlannedKeyword(w, priority) for w in words]
    with state(ctx).database().session() as session:
        target = projects.find_project(session, project)
        added, skipped = keywords.add_keywords(session, target.id, planned)
    console.print(f"{added} keyword(s) added, {skipped} already in the plan.")


@keywords_app.command("import")
def keywords_import(
    ctx: typer.Context,
    project: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import keywords: one a line, or CSV with keyword and priority columns."""
    planned = keywords.parse_keyword_file(file.read_text(encoding="utf-8-sig"))
    with state(ctx).database().session() as session:
        target = projects.find_project(session, project)
        added, skipped = keywords.add_keywords(session, target.id, planned)
    console.print(f"{added} keyword(s) imported, {skipped} already in the plan.")


@keywords_app.command("list")
def keywords_list(ctx: typer.Context, project: str, as_json: JsonFlag = False) -> None:
    """List a project's content plan in the order runs take it."""
    with state(ctx).database().session() as session:
        target = projects.find_project(session, project)
        rows: list[dict[str, Any]] = [
            {
                "id": k.id,
                "keyword": k.keyword,
                "priority": k.priority,
                "state": k.state,
                "jobId": k.job_id,
            }
            for k in keywords.list_keywords(session, target.id)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "keyword", "priority", "state")
    for row in rows:
        table.add_row(
            *cells(str(row["id"]), row["keyword"], str(row["priority"]), row["state"])
        )
    console.print(table)
