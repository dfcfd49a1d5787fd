"""`autopilot demo` and `autopilot run`, as a user types them, in a clean directory.

Every command is the installed ``autopilot`` in a subprocess whose working
directory is the test's own temporary directory, with no AUTOPILOT_* variables,
so the default data directory ``./autopilot-data`` and its SQLite file are used.
Where a test only needs to check the outcome, it reads that file directly.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pipeline_helpers import file_of, run_cli

from autopilot.db import Database
from autopilot.jobs import control
from autopilot.jobs.records import JobRecord
from autopilot.models import Keyword

pytestmark = pytest.mark.slow

DEMO_FIRST = "zuurdesem brood bakken"
DEMO_SECOND = "beste meel voor pizza"


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(_ok(result))


def _published_file(stdout: str) -> Path:
    """The Markdown file `autopilot run` says it published."""
    match = re.search(r"^Published at (file://\S+)$", stdout, re.MULTILINE)
    assert match, stdout
    return file_of(match.group(1))


@contextmanager
def _default_database(cwd: Path) -> Iterator[Database]:
    """The default SQLite file under ``cwd``, opened directly as a witness."""
    db = Database(f"sqlite:///{cwd / 'autopilot-data' / 'autopilot.db'}")
    try:
        yield db
    finally:
        db.dispose()


def _jobs_in_database(cwd: Path) -> list[JobRecord]:
    with _default_database(cwd) as db:
        return control.list_jobs(db)


def _keyword_states(cwd: Path) -> dict[str, str]:
    with _default_database(cwd) as db, db.session() as session:
        rows = session.scalars(sa.select(Keyword))
        return {row.keyword: row.state for row in rows}


def test_demo_then_run_publishes_markdown_and_the_next_run_takes_the_next_keyword(
    tmp_path: Path,
) -> None:
    """`autopilot demo`, then `autopilot run demo` twice: two articles, in order."""
    demo = _ok(run_cli("demo", cwd=tmp_path))
    assert "autopilot run demo" in demo
    assert (tmp_path / "autopilot-data" / "autopilot.db").is_file()

    first = _ok(run_cli("run", "demo", cwd=tmp_path))

    assert "completed" in first
    path = _published_file(first)
    assert path.is_file()
    assert path.parent == (tmp_path / "autopilot-data" / "sites" / "demo").resolve()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: ")
    assert f"keyword: {DEMO_FIRST}" in text

    [job] = _json(run_cli("jobs", "list", "--json", cwd=tmp_path))
    assert (job["status"], job["kind"], job["attempt"]) == (
        "completed",
        "autopilot.run",
        1,
    )
    assert file_of(job["result"]["url"]) == path
    assert job["result"]["title"] in first

    second = _ok(run_cli("run", "demo", cwd=tmp_path))

    second_path = _published_file(second)
    assert second_path != path and second_path.is_file()
    assert f"keyword: {DEMO_SECOND}" in second_path.read_text(encoding="utf-8")
    states = _keyword_states(tmp_path)
    assert (states[DEMO_FIRST], states[DEMO_SECOND]) == ("used", "used")
    assert list(states.values()).count("queued") == 3


def test_run_no_wait_then_worker_burst_completes_the_run(tmp_path: Path) -> None:
    """`run --no-wait` only enqueues; `worker --burst` then completes it and exits."""
    _ok(run_cli("demo", cwd=tmp_path))

    queued = _ok(run_cli("run", "demo", "--no-wait", cwd=tmp_path))
    waiting = _jobs_in_database(tmp_path)
    worker = run_cli("worker", "--burst", cwd=tmp_path)
    [done] = _jobs_in_database(tmp_path)

    assert re.search(r"Run \d+ for project demo started\.", queued), queued
    assert [job.status for job in waiting] == ["pending"]
    assert worker.returncode == 0, worker.stderr
    assert "Traceback" not in worker.stderr
    assert (done.id, done.status) == (waiting[0].id, "completed")
    assert done.result is not None
    assert file_of(done.result["url"]).is_file()
    assert _keyword_states(tmp_path)[DEMO_FIRST] == "used"


def test_run_on_an_unknown_project_exits_1_with_one_clear_line(tmp_path: Path) -> None:
    """An unknown project, even one named like terminal markup, gives one line."""
    _ok(run_cli("db", "upgrade", cwd=tmp_path))

    typo = run_cli("run", "bakkerij-typo", cwd=tmp_path)
    markup = run_cli("run", "[/bakkerij] [bold]x", cwd=tmp_path)

    for result in (typo, markup):
        assert result.returncode == 1
        assert result.stdout == ""
        assert "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert typo.stderr.startswith("error: There is no project 'bakkerij-typo'.")
    assert "autopilot projects list" in typo.stderr
    assert "There is no project '[/bakkerij] [bold]x'." in markup.stderr


def test_run_before_any_setup_says_to_create_the_database(tmp_path: Path) -> None:
    """In an empty directory `autopilot run` says to run `autopilot db upgrade`."""
    result = run_cli("run", "demo", cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "autopilot db upgrade" in lines[0]
    assert "Traceback" not in result.stderr
