"""Pieces every command uses: settings, the database, output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from autopilot.db import Database
from autopilot.runtime import open_database
from autopilot.settings import Settings, load_settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class State:
    """What the root options decided, shared by every command."""

    overrides: dict[str, Any]
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            values = {k: v for k, v in {**self.overrides, **more}.items() if v != ""}
            self._settings = load_settings(**values)
        return self._settings

    def database(self, *, require_schema: bool = True) -> Database:
        return open_database(self.settings(), require_schema=require_schema)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    typer.echo(json.dumps(data, default=_default, indent=2, ensure_ascii=False))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def cells(*values: object) -> list[Text]:
    """Table cells shown exactly as stored: names are never read as markup."""
    return [Text("-" if value is None else str(value)) for value in values]
