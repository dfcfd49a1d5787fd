"""Project settings: validated as a whole, and secrets never shown."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pipeline_helpers import make_settings

from autopilot.errors import AutopilotError
from autopilot.models import Project
from autopilot.pipeline.projects import ProjectUpdate, apply_update, describe
from autopilot.pipeline.secretbox import SecretBox
from autopilot.settings import Settings

BAD_UPDATES = {
    "language": (ProjectUpdate(language="fr"), "language must be one of nl, en"),
    "cron": (ProjectUpdate(schedule_cron="elke dag om 9"), "Invalid schedule"),
    "timezone": (ProjectUpdate(timezone="Europe/Atlantis"), "Unknown time zone"),
    "post status": (ProjectUpdate(post_status="live"), "post status must be one of"),
    "writer": (ProjectUpdate(writer="gpt-9"), "writer must be one of offline"),
    "publisher": (ProjectUpdate(publisher="ftp"), "publisher must be one of folder"),
    "target words": (ProjectUpdate(target_words=5), "between 100 and 10000"),
    "secret name": (ProjectUpdate(secrets={"password": "x"}), "Unknown secret"),
}


def _project() -> Project:
    """A project as stored, with every setting filled in."""
    return Project(
        id=7,
        client_id=3,
        name="Bakkerij",
        slug="bakkerij",
        site_url="https://bakkerij.example",
        language="nl",
        tone="informative",
        target_words=800,
        post_status="draft",
        categories=["Brood"],
        tags=["bakken"],
        writer="offline",
        writer_settings={},
        publisher="folder",
        publisher_settings={},
        secrets={},
        schedule_cron="0 9 * * 1-5",
        timezone="Europe/Amsterdam",
        autopilot_enabled=False,
        scheduled_through=None,
    )


def _apply(project: Project, update: ProjectUpdate, settings: Settings) -> None:
    # apply_update does not use the session; the caller commits or rolls back.
    apply_update(None, project, update, settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(BAD_UPDATES))
def test_invalid_setting_is_refused_with_a_clear_message(
    name: str, tmp_path: Path
) -> None:
    """Each kind of bad value raises an error that says what is allowed."""
    update, message = BAD_UPDATES[name]
    project = _project()

    with pytest.raises(AutopilotError, match=message):
        _apply(project, update, make_settings(tmp_path))

    assert describe(project) == describe(_project())


@pytest.mark.parametrize("name", list(BAD_UPDATES))
def test_invalid_setting_leaves_the_valid_ones_in_the_same_update_unapplied(
    name: str, tmp_path: Path
) -> None:
    """One bad part stops the whole update: nothing of it is applied."""
    bad, _ = BAD_UPDATES[name]
    update = dataclasses.replace(
        bad,
        site_url="https://nieuw.example",
        tone="speels",
        categories=["Taart"],
        publisher_settings={"path": "/srv/site"},
        autopilot_enabled=True,
        secrets={**bad.secrets, "publisher_secret": "geheim"},
    )
    project = _project()

    with pytest.raises(AutopilotError):
        _apply(project, update, make_settings(tmp_path))

    assert describe(project) == describe(_project())
    assert project.scheduled_through is None


def test_valid_update_changes_only_what_it_names(tmp_path: Path) -> None:
    """Settings left None keep their values; given ones change."""
    project = _project()

    _apply(
        project,
        ProjectUpdate(language="en", schedule_cron=" 0  9 * * * ", timezone="UTC"),
        make_settings(tmp_path),
    )

    after = describe(project)
    assert (after["language"], after["schedule"], after["timezone"]) == (
        "en",
        "0 9 * * *",
        "UTC",
    )
    assert after["tone"] == "informative" and after["categories"] == ["Brood"]


def test_describe_never_contains_secret_values(tmp_path: Path) -> None:
    """Stored secrets are listed by name only, never plain or sealed."""
    settings = make_settings(tmp_path)
    project = _project()
    plain = {
        "publisher_app_password": "abcd efgh ijkl mnop",
        "publisher_secret": "hook-secret-123",
        "writer_api_key": "sk-test-456",
    }

    _apply(project, ProjectUpdate(secrets=plain), settings)

    shown = json.dumps(describe(project))
    assert describe(project)["secretsSet"] == sorted(plain)
    for name, value in plain.items():
        assert value not in shown
        assert project.secrets[name] not in shown
        assert SecretBox.from_settings(settings).open(project.secrets[name]) == value


def test_empty_secret_removes_it(tmp_path: Path) -> None:
    """Setting a secret to '' forgets it."""
    settings = make_settings(tmp_path)
    project = _project()
    _apply(project, ProjectUpdate(secrets={"publisher_secret": "s"}), settings)

    _apply(project, ProjectUpdate(secrets={"publisher_secret": ""}), settings)

    assert describe(project)["secretsSet"] == []


def test_secret_without_a_key_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    """With no AUTOPILOT_SECRET_KEY a secret cannot be stored, nor the rest."""
    settings = make_settings(tmp_path, secret_key="")
    project = _project()
    update = ProjectUpdate(language="en", secrets={"publisher_secret": "s"})

    with pytest.raises(AutopilotError, match="AUTOPILOT_SECRET_KEY"):
        _apply(project, update, settings)

    assert describe(project) == describe(_project())
