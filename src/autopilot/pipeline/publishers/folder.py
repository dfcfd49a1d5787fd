"""Publishes articles as Markdown files with YAML front matter, for static sites."""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from autopilot.pipeline.types import ArticleToPublish, Published

LOCK_NAME = ".autopilot.lock"

# Front matter longer than this is not ours; stops a scan reading whole files.
_MAX_FRONT_MATTER_LINES = 200


class FolderPublisher:
    """Writes ``<root>/<slug>.md``, rewriting the file of an earlier attempt.

    The article's idempotency key is kept in the front matter as
    ``autopilot_key``, so the file survives renames of the slug and a retry
    finds it by scanning. A file that does not carry the key, such as one a
    person wrote, is never overwritten: the article goes to ``<slug>-2.md``.
    """

    name = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root

    def publish(self, article: ArticleToPublish) -> Published:
        """Write the article's file atomically and say where it is."""
        self.root.mkdir(parents=True, exist_ok=True)

        with _locked(self.root / LOCK_NAME):
            now = datetime.now(UTC).isoformat(timespec="seconds")
            own = self._find_own_file(article.idempotency_key)
            if own is None:
                path, date = self._free_path(article), now
            else:
                # A retry must not move the article's publication date.
                path, date = own[0], own[1].get("date") or now

            _write_atomically(path, render(article, date=date))

        return Published(remote_id=path.name, url=path.resolve().as_uri())

    def _find_own_file(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        """Return the file (and its front matter) written for ``key`` before."""
        for path in sorted(self.root.glob("*.md")):
            front_matter = read_front_matter(path)
            if front_matter is not None and front_matter.get("autopilot_key") == key:
                return path, front_matter
        return None

    def _free_path(self, article: ArticleToPublish) -> Path:
        """Return the first of ``<slug>.md``, ``<slug>-2.md``, ... that is free."""
        stem = _safe_stem(article.slug) or f"article-{article.article_id}"
        path = self.root / f"{stem}.md"
        number = 1
        while os.path.lexists(path):
            number += 1
            path = self.root / f"{stem}-{number}.md"
        return path


def render(article: ArticleToPublish, *, date: Any) -> str:
    """Return the file text: YAML front matter, then the Markdown body."""
    front_matter = {
        "title": article.title,
        "slug": article.slug,
        "description": article.meta_description,
        "date": date,
        "draft": article.status != "publish",
        "categories": list(article.categories),
        "tags": list(article.tags),
        "keyword": article.keyword,
        "lang": article.language,
        "autopilot_key": article.idempotency_key,
    }
    header = yaml.safe_dump(
        front_matter, sort_keys=False, allow_unicode=True, width=10_000
    )
    return f"---\n{header}---\n\n{article.body_markdown.rstrip()}\n"


def read_front_matter(path: Path) -> dict[str, Any] | None:
    """Return the YAML front matter of a Markdown file, or None if it has none."""
    try:
        with path.open(encoding="utf-8") as handle:
            if handle.readline().rstrip() != "---":
                return None
            lines: list[str] = []
            for line in itertools.islice(handle, _MAX_FRONT_MATTER_LINES):
                if line.rstrip() == "---":
                    data = yaml.safe_load("".join(lines))
                    return data if isinstance(data, dict) else None
                lines.append(line)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return None


def _safe_stem(slug: str) -> str:
    """Return ``slug`` reduced to a file name without separators or leading dots."""
    return re.sub(r"[^\w-]+", "-", slug).strip("-_")


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old file or the new one."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    # The temporary name does not end in .md, so a scan never mistakes it
    # for an article if a crash leaves it behind.
    fd, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise

    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        # Some file systems cannot sync a directory; the rename still happened.
        pass
    finally:
        os.close(fd)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` for the duration of the block.

    Two attempts at the same article can overlap when a worker was presumed
    dead but is not; the lock keeps their scan-then-write steps apart.
    """
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
