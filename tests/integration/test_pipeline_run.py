"""The autopilot run end to end, in-process, on SQLite and PostgreSQL.

A real worker thread runs ``autopilot.run`` jobs with the offline writer and
the folder publisher; the tests read what it left in the database and on disk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_helpers import (
    CountingWriter,
    FailingFirstPublisher,
    FixedWriter,
    articles_of,
    events_of,
    file_of,
    keyword_states,
    make_settings,
    new_project,
    run_to_end,
    running_worker,
    shown_path,
    start_run,
    wait_finished,
)

import autopilot.pipeline.run as run_module
from autopilot.db import Database
from autopilot.errors import JobError
from autopilot.jobs import control
from autopilot.pipeline import publishers, writers
from autopilot.pipeline.run import word_count
from autopilot.pipeline.types import Draft, Publisher, Writer

PLAN = [("fietsen in de regen", 1), ("winterbanden kiezen", 5)]


def _md_files(settings_root: Path) -> list[Path]:
    return sorted(settings_root.rglob("*.md"))


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n"), text[:40]
    header, body = text[4:].split("\n---\n", 1)
    data = yaml.safe_load(header)
    assert isinstance(data, dict)
    return data, body.strip()


def test_run_writes_and_publishes_the_highest_priority_keyword(
    db: Database, tmp_path: Path
) -> None:
    """A run takes the top keyword, stores the article, publishes it and completes."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)

    with running_worker(db, settings):
        job = run_to_end(db, settings, project)

    assert job.status == "completed", job.error_message
    [article] = articles_of(db, project)
    assert article["keyword"] == "winterbanden kiezen"
    assert article["job_id"] == job.id
    assert "winterbanden" in article["title"].lower()
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", article["slug"])
    assert 0 < len(article["meta_description"]) <= 155
    assert article["body_markdown"].count("\n## ") >= 2
    assert "<h2>" in article["body_html"] and "<p>" in article["body_html"]
    assert article["word_count"] == word_count(article["body_markdown"]) > 300
    assert job.result == {
        "articleId": article["id"],
        "title": article["title"],
        "url": article["remote_url"],
    }
    assert article["published_at"] is not None

    [published] = _md_files(settings.data_dir)
    assert file_of(article["remote_url"]) == published
    assert article["remote_id"] == published.name
    front, body = _split_front_matter(published.read_text(encoding="utf-8"))
    assert front["title"] == article["title"]
    assert front["slug"] == article["slug"]
    assert front["description"] == article["meta_description"]
    assert front["keyword"] == "winterbanden kiezen"
    assert front["draft"] is True
    assert body == article["body_markdown"].strip()

    assert keyword_states(db, project) == {
        "winterbanden kiezen": "used",
        "fietsen in de regen": "queued",
    }


def test_run_shows_pending_generating_publishing_completed_with_progress(
    db: Database, tmp_path: Path
) -> None:
    """The job's events pass pending, generating, publishing and completed."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)

    with running_worker(db, settings):
        job = run_to_end(db, settings, project)

    events = events_of(db, job.id)
    assert shown_path(events) == ["pending", "generating", "publishing", "completed"]
    progress = [e for e in events if e.event == "progress"]
    generating = [e for e in progress if e.to_status == "generating"]
    publishing = [e for e in progress if e.to_status == "publishing"]
    assert any("winterbanden kiezen" in (e.reason or "") for e in generating)
    assert len(generating) >= 3, "the writer reports each section"
    assert [e.progress for e in publishing][-1] == 100
    assert all(e.attempt == 1 for e in events if e.event != "enqueued")


def test_next_run_takes_the_other_keyword(db: Database, tmp_path: Path) -> None:
    """A second run writes about the next keyword, never the one already used."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)

    with running_worker(db, settings):
        first = run_to_end(db, settings, project)
        second = run_to_end(db, settings, project)

    assert (first.status, second.status) == ("completed", "completed")
    assert [a["keyword"] for a in articles_of(db, project)] == [
        "winterbanden kiezen",
        "fietsen in de regen",
    ]
    assert set(keyword_states(db, project).values()) == {"used"}
    assert len(_md_files(settings.data_dir)) == 2


def test_run_with_an_empty_plan_fails_at_once_with_no_keywords(
    db: Database, tmp_path: Path
) -> None:
    """With every keyword used, a run fails on its first attempt: no_keywords."""
    settings = make_settings(tmp_path, max_attempts=3)
    project = new_project(db, settings, [("enige zoekterm", 0)])
    with running_worker(db, settings):
        run_to_end(db, settings, project)

        job = run_to_end(db, settings, project)

    assert job.status == "failed"
    assert job.error_code == "no_keywords"
    assert job.attempt == 1, "a run without keywords is not retried"
    assert job.error_message is not None
    assert "no keywords left" in job.error_message
    assert "Add keywords" in job.error_message
    names = [e.event for e in events_of(db, job.id)]
    assert "retry_scheduled" not in names
    assert names[-1] == "failed"
    assert len(articles_of(db, project)) == 1


def test_stored_html_has_no_scripts_or_event_handlers(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw HTML from a writer is dropped: no script, handler or tag is stored."""
    draft = Draft(
        title="Veilig bakken",
        slug="veilig-bakken",
        meta_description="Over veilig bakken.",
        body_markdown=(
            "## Oven\n\nWarm de oven voor.\n\n<script>alert(1)</script>\n\n"
            'Een plaatje <img src="oven.png" onerror="alert(2)"> en '
            '<a href="https://example.org" onclick="alert(3)">een link</a>.\n'
        ),
    )

    def fixed_writer(*_args: Any) -> Writer:
        return FixedWriter(draft)

    monkeypatch.setattr(run_module, "make_writer", fixed_writer)
    settings = make_settings(tmp_path)
    project = new_project(db, settings, [("veilig bakken", 0)])

    with running_worker(db, settings):
        job = run_to_end(db, settings, project)

    assert job.status == "completed", job.error_message
    [article] = articles_of(db, project)
    html = article["body_html"].lower()
    assert "<script" not in html
    assert "alert(1)" not in html
    assert "onerror" not in html and "onclick" not in html
    assert "<h2>oven</h2>" in html
    assert "een plaatje" in html and "een link" in html
    markdown = article["body_markdown"].lower()
    assert "<script" not in markdown and "alert(" not in markdown
    assert "<img" not in markdown and "onclick" not in markdown


def test_retry_after_a_failed_publish_does_not_call_the_writer_again(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that fails and is retried reuses the stored article."""
    written: list[str] = []
    published: list[str] = []

    def counting_writer(*args: Any) -> Writer:
        return CountingWriter(writers.make_writer(*args), written)

    def flaky_publisher(*args: Any, **kwargs: Any) -> Publisher:
        error = JobError("publish_unavailable", "Site is down.", retryable=True)
        return FailingFirstPublisher(
            publishers.make_publisher(*args, **kwargs), published, error
        )

    monkeypatch.setattr(run_module, "make_writer", counting_writer)
    monkeypatch.setattr(run_module, "make_publisher", flaky_publisher)
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)

    with running_worker(db, settings):
        job = run_to_end(db, settings, project)

    assert job.status == "completed", job.error_message
    assert job.attempt == 2
    assert written == ["winterbanden kiezen"], "the writer ran once"
    assert len(published) == 2 and len(set(published)) == 1
    [article] = articles_of(db, project)
    assert article["job_id"] == job.id
    assert article["remote_id"] is not None
    assert len(_md_files(settings.data_dir)) == 1
    retries = [e for e in events_of(db, job.id) if e.event == "retry_scheduled"]
    assert [e.code for e in retries] == ["publish_unavailable"]
    assert keyword_states(db, project)["winterbanden kiezen"] == "used"


def test_retried_failed_job_publishes_the_article_it_already_wrote(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrying a failed run (jobs retry) publishes its article without rewriting."""
    written: list[str] = []
    published: list[str] = []

    def counting_writer(*args: Any) -> Writer:
        return CountingWriter(writers.make_writer(*args), written)

    def refused_once(*args: Any, **kwargs: Any) -> Publisher:
        error = JobError("publish_auth_failed", "Wrong password.")
        return FailingFirstPublisher(
            publishers.make_publisher(*args, **kwargs), published, error
        )

    monkeypatch.setattr(run_module, "make_writer", counting_writer)
    monkeypatch.setattr(run_module, "make_publisher", refused_once)
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)
    with running_worker(db, settings):
        failed = run_to_end(db, settings, project)
        assert (failed.status, failed.error_code) == ("failed", "publish_auth_failed")

        retry = control.retry(db, failed.id, max_attempts=settings.max_attempts)
        job = wait_finished(db, retry.id)

    assert job.status == "completed", job.error_message
    assert written == ["winterbanden kiezen"]
    [article] = articles_of(db, project)
    assert article["job_id"] == retry.id
    assert keyword_states(db, project) == {
        "winterbanden kiezen": "used",
        "fietsen in de regen": "queued",
    }
    assert len(_md_files(settings.data_dir)) == 1


def test_run_now_while_pending_keeps_one_run(db: Database, tmp_path: Path) -> None:
    """Pressing Run now twice before a worker starts leaves one run, one article."""
    settings = make_settings(tmp_path)
    project = new_project(db, settings, PLAN)

    first = start_run(db, settings, project)
    second = start_run(db, settings, project)
    with running_worker(db, settings):
        job = wait_finished(db, first)

    assert first == second
    assert job.status == "completed"
    assert len(articles_of(db, project)) == 1
