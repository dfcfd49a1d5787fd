"""The folder publisher: Markdown files with front matter, one per article."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopilot.errors import ConfigError
from autopilot.pipeline.publishers import make_publisher
from autopilot.pipeline.publishers.folder import FolderPublisher, read_front_matter
from autopilot.pipeline.types import ArticleToPublish


def make_article(**changes: Any) -> ArticleToPublish:
    """Return an article with sensible defaults, changed where the test says."""
    article = ArticleToPublish(
        article_id=7,
        project_id=3,
        idempotency_key="article-7",
        title="Koffie zetten: de gids",
        slug="koffie-zetten",
        meta_description="Alles over koffie zetten.",
        body_markdown="# Koffie\n\nZet het water op.\n",
        body_html="<h1>Koffie</h1><p>Zet het water op.</p>",
        language="nl",
        keyword="koffie zetten",
        status="draft",
        categories=("Koffie",),
        tags=("barista", "thuis"),
    )
    return dataclasses.replace(article, **changes)


def test_file_has_front_matter_and_body(tmp_path: Path) -> None:
    """The file starts with YAML front matter describing the article, then the body."""
    published = FolderPublisher(tmp_path).publish(make_article())

    path = tmp_path / "koffie-zetten.md"
    assert published.remote_id == "koffie-zetten.md"
    assert published.url == path.resolve().as_uri()

    text = path.read_text(encoding="utf-8")
    header, body = text.removeprefix("---\n").split("---\n", 1)
    front_matter = yaml.safe_load(header)
    assert front_matter == {
        "title": "Koffie zetten: de gids",
        "slug": "koffie-zetten",
        "description": "Alles over koffie zetten.",
        "date": front_matter["date"],
        "draft": True,
        "categories": ["Koffie"],
        "tags": ["barista", "thuis"],
        "keyword": "koffie zetten",
        "lang": "nl",
        "autopilot_key": "article-7",
    }
    assert front_matter["date"].endswith("+00:00")
    assert body == "\n# Koffie\n\nZet het water op.\n"


def test_published_status_is_not_a_draft(tmp_path: Path) -> None:
    """An article with status 'publish' gets draft: false."""
    FolderPublisher(tmp_path).publish(make_article(status="publish"))

    front_matter = read_front_matter(tmp_path / "koffie-zetten.md")
    assert front_matter is not None
    assert front_matter["draft"] is False


def test_same_key_rewrites_the_same_file(tmp_path: Path) -> None:
    """Publishing an article again rewrites its file and keeps its date."""
    publisher = FolderPublisher(tmp_path)
    first = publisher.publish(make_article())
    date = (read_front_matter(tmp_path / first.remote_id) or {})["date"]

    second = publisher.publish(make_article(title="Beter koffie zetten"))

    assert second == first
    assert sorted(p.name for p in tmp_path.glob("*.md")) == ["koffie-zetten.md"]
    front_matter = read_front_matter(tmp_path / "koffie-zetten.md")
    assert front_matter is not None
    assert front_matter["title"] == "Beter koffie zetten"
    assert front_matter["date"] == date


def test_retry_finds_its_file_after_the_slug_changed(tmp_path: Path) -> None:
    """The key, not the slug, identifies the file, so a new slug makes no second one."""
    publisher = FolderPublisher(tmp_path)
    first = publisher.publish(make_article())

    second = publisher.publish(make_article(slug="koffie-zetten-thuis"))

    assert second.remote_id == first.remote_id
    assert len(list(tmp_path.glob("*.md"))) == 1


def test_human_file_with_the_same_slug_is_never_overwritten(tmp_path: Path) -> None:
    """A file without our key keeps its content; the article goes to <slug>-2.md."""
    human = tmp_path / "koffie-zetten.md"
    human.write_text("---\ntitle: Mijn eigen stuk\n---\n\nMet de hand.\n")
    publisher = FolderPublisher(tmp_path)

    first = publisher.publish(make_article())
    second = publisher.publish(make_article())

    assert first.remote_id == second.remote_id == "koffie-zetten-2.md"
    assert human.read_text() == "---\ntitle: Mijn eigen stuk\n---\n\nMet de hand.\n"


def test_file_of_another_article_is_never_overwritten(tmp_path: Path) -> None:
    """Two articles with the same slug get two files, each rewritten by its own key."""
    publisher = FolderPublisher(tmp_path)

    one = publisher.publish(make_article())
    other = publisher.publish(make_article(idempotency_key="article-8", article_id=8))

    assert (one.remote_id, other.remote_id) == (
        "koffie-zetten.md",
        "koffie-zetten-2.md",
    )
    assert (read_front_matter(tmp_path / one.remote_id) or {})["autopilot_key"] == (
        "article-7"
    )


def test_plain_markdown_without_front_matter_is_left_alone(tmp_path: Path) -> None:
    """A Markdown file with no front matter at all counts as a person's file."""
    (tmp_path / "koffie-zetten.md").write_text("# Notities\n")

    published = FolderPublisher(tmp_path).publish(make_article())

    assert published.remote_id == "koffie-zetten-2.md"
    assert (tmp_path / "koffie-zetten.md").read_text() == "# Notities\n"


def test_slug_cannot_escape_the_folder(tmp_path: Path) -> None:
    """Separators and dots in a slug cannot place the file outside the root."""
    root = tmp_path / "site"

    published = FolderPublisher(root).publish(make_article(slug="../../etc/passwd"))

    assert published.remote_id == "etc-passwd.md"
    assert (root / "etc-passwd.md").is_file()


def test_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash before the rename leaves the old version intact and no stray file."""
    publisher = FolderPublisher(tmp_path)
    publisher.publish(make_article())
    before = (tmp_path / "koffie-zetten.md").read_text()

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        publisher.publish(make_article(title="Nieuw"))

    assert (tmp_path / "koffie-zetten.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".autopilot.lock",
        "koffie-zetten.md",
    ]


def test_factory_defaults_the_folder_to_the_data_dir(tmp_path: Path) -> None:
    """Without a path setting, a project's files go to <data_dir>/sites/<slug>."""
    publisher = make_publisher(
        "folder", {}, {}, data_dir=tmp_path, project_slug="koffie", allow_private=False
    )

    published = publisher.publish(make_article())

    assert publisher.name == "folder"
    assert (tmp_path / "sites" / "koffie" / published.remote_id).is_file()


def test_factory_uses_the_configured_folder(tmp_path: Path) -> None:
    """The path setting, when given, is where the files go."""
    publisher = make_publisher(
        "folder",
        {"path": str(tmp_path / "content")},
        {},
        data_dir=tmp_path / "data",
        project_slug="koffie",
        allow_private=False,
    )

    publisher.publish(make_article())

    assert (tmp_path / "content" / "koffie-zetten.md").is_file()


def test_factory_refuses_an_unknown_kind(tmp_path: Path) -> None:
    """An unknown publisher kind is a ConfigError listing the known ones."""
    with pytest.raises(ConfigError, match="folder, wordpress, webhook"):
        make_publisher(
            "ftp", {}, {}, data_dir=tmp_path, project_slug="x", allow_private=False
        )
