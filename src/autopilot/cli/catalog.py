"""Commands for clients and projects."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from autopilot.cli.common import console, print_json, state
from autopilot.pipeline import projects

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
        table.add_row(str(row["id"]), row["name"])
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
        table.add_row(str(row["id"]), row["name"], row["slug"], str(row["clientId"]))
    console.print(table)
