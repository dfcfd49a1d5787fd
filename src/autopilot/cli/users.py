"""Commands for people: ``users create`` and ``tokens create``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from autopilot import accounts
from autopilot.cli.common import cells, console, print_json, state
from autopilot.errors import InvalidInput
from autopilot.pipeline import projects

users_app = typer.Typer(
    help="Users: who may log in to the portal.", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API tokens: for scripts, sent as Bearer.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def read_password(*, confirm: bool = True) -> str:
    """From a prompt on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        value: str = typer.prompt(
            "Password", hide_input=True, confirmation_prompt=confirm
        )
        return value
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InvalidInput("No password on standard input: pipe it in, one line.")
    return line


@users_app.command("create")
def create(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(help="The user's email; they log in with it.")
    ],
    client: Annotated[str, typer.Option(help="Client name or id the user belongs to.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="May see every client's projects and jobs.")
    ] = False,
    language: Annotated[
        str | None, typer.Option(help="Portal language: nl or en (default: browser).")
    ] = None,
) -> None:
    """Add a user; the password is read from a prompt or standard input."""
    password = read_password()
    with state(ctx).database().session() as session:
        owner = projects.find_client(session, client)
        user = accounts.create_user(
            session, email, password, client=owner, admin=admin, language=language
        )
        console.print(f"User {user.id} added: {user.email} ({user.role}, {owner.name})")


@users_app.command("password")
def password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Whose password to set.")],
) -> None:
    """Set a user's password (read like ``create``); ends their sessions."""
    value = read_password()
    with state(ctx).database().session() as session:
        user = accounts.set_password(session, email, value)
        console.print(f"Password of {user.email} changed.")


@users_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List users."""
    with state(ctx).database().session() as session:
        rows: list[dict[str, Any]] = [
            {"id": u.id, "email": u.email, "role": u.role, "clientId": u.client_id}
            for u in accounts.list_users(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "email", "role", "client")
    for row in rows:
        table.add_row(
            *cells(str(row["id"]), row["email"], row["role"], str(row["clientId"]))
        )
    console.print(table)


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="A label, e.g. the script using it.")] = "",
) -> None:
    """Make an API token; it is printed once and stored only as a hash."""
    with state(ctx).database().session() as session:
        token, record = accounts.create_token(session, email, name)
        token_id = record.id
    typer.echo(token)
    typer.echo(
        f"Token {token_id} for {email}: send it as 'Authorization: Bearer <token>'. "
        "It is not shown again.",
        err=True,
    )


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="The token's id.")]
) -> None:
    """Revoke an API token."""
    with state(ctx).database().session() as session:
        accounts.revoke_token(session, token_id)
    console.print(f"Token {token_id} revoked.")
