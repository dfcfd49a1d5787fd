"""Content plans and project settings in the database, on SQLite and PostgreSQL.

The catalog commands run in-process through Typer's test runner, against the
test's own database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import (
    SECRET_KEY,
    CountingWriter,
    articles_of,
    keyword_states,
    make_settings,
    new_project,
    run_to_end,
    running_worker,
)
from typer.testing import CliRunner, Result

import autopilot.pipeline.run as run_module
from autopilot.cli import app
from autopilot.db import Database
from autopilot.errors import InvalidInput, JobError
from autopilot.models import Project
from autopilot.pipeline import keywords, writers
from autopilot.pipeline.keywords import PlannedKeyword
from autopilot.pipeline.projects import describe
from autopilot.pipeline.types import ArticleBrief, Draft, ProgressFn, Writer


def _cli(database_url: str, tmp_path: Path, *args: str) -> Result:
    env = {"AUTOPILOT_SECRET_KEY": SECRET_KEY, "AUTOPILOT_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(app, ["--database-url", database_url, *args], env=env)


def _slug(db: Database, project_id: int) -> str:
    with db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        return project.slug


def _describe(db: Database, project_id: int) -> dict[str, Any]:
    with db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None
        return describe(project)


def test_adding_keywords_skips_those_already_in_the_plan(
    db: Database, tmp_path: Path
) -> None:
    """A keyword already planned (spacing aside) is counted as skipped, not added."""
    project = new_project(db, make_settings(tmp_path))

    with db.session() as session:
        first = keywords.add_keywords(
            session,
            project,
            [PlannedKeyword("brood bakken"), PlannedKeyword("  brood   bakken ")],
        )
        second = keywords.add_keywords(
            session,
            project,
            [PlannedKeyword("brood bakken", 9), PlannedKeyword("taart")],
        )
        plan = [
            (k.keyword, k.priority) for k in keywords.list_keywords(session, project)
        ]

    assert (first, second) == ((1, 1), (1, 1))
    assert plan == [("brood bakken", 0), ("taart", 0)]


def test_import_with_a_bad_priority_imports_nothing(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """`keywords import` of a file with one bad line leaves the plan empty."""
    project = new_project(db, make_settings(tmp_path))
    csv_file = tmp_path / "plan.csv"
    csv_file.write_text("keyword,priority\nbrood,3\ntaart,veel\n", encoding="utf-8")

    result = _cli(
        database_url, tmp_path, "keywords", "import", _slug(db, project), str(csv_file)
    )

    assert isinstance(result.exception, InvalidInput)
    assert "Line 3" in result.exception.message
    assert keyword_states(db, project) == {}


def test_import_adds_keywords_with_priorities_and_skips_duplicates(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A CSV import plans keywords by priority; importing it again adds nothing."""
    project = new_project(db, make_settings(tmp_path), [("taart", 1)])
    slug = _slug(db, project)
    csv_file = tmp_path / "plan.csv"
    csv_file.write_text(
        "\ufeffkeyword,priority\nbrood,3\ntaart,8\npizza,5\n", encoding="utf-8"
    )

    first = _cli(database_url, tmp_path, "keywords", "import", slug, str(csv_file))
    again = _cli(database_url, tmp_path, "keywords", "import", slug, str(csv_file))
    listed = _cli(database_url, tmp_path, "keywords", "list", slug, "--json")

    assert first.exit_code == 0, first.output
    assert "2 keyword(s) imported, 1 already in the plan" in first.output
    assert "0 keyword(s) imported, 3 already in the plan" in again.output
    rows = json.loads(listed.output)
    assert [(r["keyword"], r["priority"]) for r in rows] == [
        ("pizza", 5),
        ("brood", 3),
        ("taart", 1),
    ]


def test_every_keyword_is_used_once_in_priority_order(
    db: Database, tmp_path: Path
) -> None:
    """Runs take keywords by priority, then age, each once; then the plan is empty."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, [("appel", 0), ("banaan", 5), ("citroen", 0)])

    with running_worker(db, settings):
        jobs = [run_to_end(db, settings, project) for _ in range(4)]

    assert [job.status for job in jobs] == ["completed"] * 3 + ["failed"]
    assert jobs[-1].error_code == "no_keywords"
    used = [a["keyword"] for a in articles_of(db, project)]
    assert used == ["banaan", "appel", "citroen"]
    assert set(keyword_states(db, project).values()) == {"used"}


class _RefusingWriter:
    """A writer whose language model refuses every brief for good."""

    name = "refusing"

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft:
        raise JobError("llm_rejected", "The model refused this keyword.")


def test_keyword_of_a_failed_run_is_not_taken_again(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that failed for good gives up its keyword; the next run takes another."""
    written: list[str] = []
    refuse = {"next": True}

    def writer(*args: Any) -> Writer:
        if refuse.pop("next", False):
            return _RefusingWriter()
        return CountingWriter(writers.make_writer(*args), written)

    monkeypatch.setattr(run_module, "make_writer", writer)
    settings = make_settings(tmp_path)
    project = new_project(db, settings, [("eerste", 2), ("tweede", 1)])

    with running_worker(db, settings):
        failed = run_to_end(db, settings, project)
        done = run_to_end(db, settings, project)

    assert (failed.status, failed.error_code) == ("failed", "llm_rejected")
    assert done.status == "completed"
    assert written == ["tweede"]
    assert keyword_states(db, project) == {"eerste": "failed", "tweede": "used"}


def test_projects_set_with_a_bad_value_changes_nothing(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """`projects set` with one bad option leaves every setting as it was."""
    project = new_project(db, make_settings(tmp_path))
    before = _describe(db, project)

    result = _cli(
        database_url,
        tmp_path,
        "projects",
        "set",
        _slug(db, project),
        "--language",
        "en",
        "--tone",
        "speels",
        "--webhook-secret",
        "geheim",
        "--timezone",
        "Europe/Atlantis",
    )

    assert isinstance(result.exception, InvalidInput)
    assert "Unknown time zone" in result.exception.message
    assert _describe(db, project) == before


def test_projects_show_lists_secret_names_but_never_their_values(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """Secrets set through the CLI are stored sealed and shown only by name."""
    project = new_project(db, make_settings(tmp_path))
    slug = _slug(db, project)

    stored = _cli(
        database_url,
        tmp_path,
        "projects",
        "set",
        slug,
        "--publisher",
        "webhook",
        "--webhook-url",
        "https://hooks.example/in",
        "--webhook-secret",
        "hook-secret-value",
        "--writer-api-key",
        "sk-secret-value",
    )
    shown = _cli(database_url, tmp_path, "projects", "show", slug, "--json")
    table = _cli(database_url, tmp_path, "projects", "show", slug)

    assert stored.exit_code == 0, stored.output
    data = json.loads(shown.output)
    assert data["secretsSet"] == ["publisher_secret", "writer_api_key"]
    with db.session() as session:
        sealed = session.get(Project, project).secrets  # type: ignore[union-attr]
    for text in (shown.output, table.output):
        assert "hook-secret-value" not in text and "sk-secret-value" not in text
        assert all(value not in text for value in sealed.values())


def test_keywords_list_prints_brackets_in_keywords_as_typed(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A keyword that looks like terminal markup is listed exactly as it was added."""
    project = new_project(db, make_settings(tmp_path))
    slug = _slug(db, project)
    typed = "koffie [/merk] [bold]bonen"

    added = _cli(database_url, tmp_path, "keywords", "add", slug, typed)
    listed = _cli(database_url, tmp_path, "keywords", "list", slug)

    assert added.exit_code == 0, added.output
    assert listed.exit_code == 0, listed.exception
    assert typed in listed.output
