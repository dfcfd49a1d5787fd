"""Content plans: the keywords a project's runs write about, in order."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from autopilot.errors import InvalidInput, NotFound
from autopilot.models import Keyword

KEYWORD_STATES = ("queued", "in_progress", "used", "failed")
MAX_KEYWORD_LENGTH = 300


@dataclass(frozen=True)
class PlannedKeyword:
    """A keyword to add, with its priority (higher runs first)."""

    keyword: str
    priority: int = 0


def _clean(keyword: str) -> str:
    text = " ".join(keyword.split())
    if not text:
        raise InvalidInput("A keyword cannot be empty.")
    if len(text) > MAX_KEYWORD_LENGTH:
        raise InvalidInput(
            f"Keyword {text[:40]!r}... is longer than {MAX_KEYWORD_LENGTH} characters."
        )
    return text


def add_keywords(
    session: Session, project_id: int, planned: Iterable[PlannedKeyword]
) -> tuple[int, int]:
    """Add keywords to a plan; returns (added, already there)."""
    existing = set(
        session.scalars(
            sa.select(Keyword.keyword).where(Keyword.project_id == project_id)
        )
    )
    added = skipped = 0
    for item in planned:
        text = _clean(item.keyword)
        if text in existing:
            skipped += 1
            continue
        existing.add(text)
        session.add(
            Keyword(project_id=project_id, keyword=text, priority=item.priority)
        )
        added += 1
    session.flush()
    return added, skipped


def parse_keyword_file(text: str) -> list[PlannedKeyword]:
    """Keywords from a file: one a line, or CSV with a ``keyword`` column.

    A CSV may have a ``priority`` column (a whole number, higher first).
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInput("The file has no keywords in it.")
    header = [cell.strip().lower() for cell in next(csv.reader([lines[0]]))]
    if "keyword" not in header:
        return [PlannedKeyword(line.strip()) for line in lines]

    planned = []
    # Name lines as the file numbers them, blank lines included.
    numbers = [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    for row in reader:
        number = numbers[reader.line_num - 1]
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        priority = row.get("priority") or "0"
        try:
            value = int(priority)
        except ValueError:
            raise InvalidInput(
                f"Line {number}: priority {priority!r} is not a whole number. "
                "Nothing was imported."
            ) from None
        planned.append(PlannedKeyword(row.get("keyword", ""), value))
    return planned


def list_keywords(session: Session, project_id: int) -> list[Keyword]:
    """A plan in the order runs take it: state, then priority, then age."""
    order = sa.case(
        {state: i for i, state in enumerate(KEYWORD_STATES)}, value=Keyword.state
    )
    return list(
        session.scalars(
            sa.select(Keyword)
            .where(Keyword.project_id == project_id)
            .order_by(order, Keyword.priority.desc(), Keyword.id)
        )
    )


def get_keyword(session: Session, project_id: int, keyword_id: int) -> Keyword:
    keyword = session.get(Keyword, keyword_id)
    if keyword is None or keyword.project_id != project_id:
        raise NotFound(f"This project has no keyword {keyword_id}.")
    return keyword


def set_priority(
    session: Session, project_id: int, keyword_id: int, priority: int
) -> None:
    get_keyword(session, project_id, keyword_id).priority = priority


def remove_keyword(session: Session, project_id: int, keyword_id: int) -> None:
    keyword = get_keyword(session, project_id, keyword_id)
    if keyword.state == "in_progress":
        raise InvalidInput(
            f"Keyword {keyword.keyword!r} is being written right now; cancel that "
            "run first."
        )
    session.delete(keyword)


def requeue_keyword(session: Session, project_id: int, keyword_id: int) -> None:
    """Put a failed keyword back in the plan."""
    keyword = get_keyword(session, project_id, keyword_id)
    if keyword.state != "failed":
        raise InvalidInput("Only a failed keyword can be queued again.")
    keyword.state, keyword.job_id = "queued", None
