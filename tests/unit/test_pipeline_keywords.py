"""Reading keyword files: plain lines or CSV with keyword and priority."""

from __future__ import annotations

import pytest

from autopilot.errors import InvalidInput
from autopilot.pipeline.keywords import PlannedKeyword, parse_keyword_file


def test_plain_lines_become_keywords_with_priority_zero() -> None:
    """One keyword a line; blank lines and surrounding spaces are ignored."""
    text = "zuurdesem brood bakken\n\n   beste meel voor pizza  \n\n"

    assert parse_keyword_file(text) == [
        PlannedKeyword("zuurdesem brood bakken", 0),
        PlannedKeyword("beste meel voor pizza", 0),
    ]


def test_plain_line_with_a_comma_stays_one_keyword() -> None:
    """Without a ``keyword`` header, a comma is part of the keyword."""
    assert parse_keyword_file("brood, boter en kaas\n") == [
        PlannedKeyword("brood, boter en kaas", 0)
    ]


def test_csv_reads_keyword_and_priority_columns() -> None:
    """A CSV with a header takes its priority column; an empty one means zero."""
    text = 'keyword,priority\nbrood bakken,5\npizza deeg,\n"taart, appel",-2\n'

    assert parse_keyword_file(text) == [
        PlannedKeyword("brood bakken", 5),
        PlannedKeyword("pizza deeg", 0),
        PlannedKeyword("taart, appel", -2),
    ]


def test_csv_header_is_case_insensitive_and_in_any_order() -> None:
    """'Priority,Keyword' is understood like 'keyword,priority'."""
    text = "Priority, Keyword\n3, croissants\n"

    assert parse_keyword_file(text) == [PlannedKeyword("croissants", 3)]


def test_csv_without_priority_column_gives_priority_zero() -> None:
    """A CSV with only a keyword column (and others) still imports."""
    text = "keyword,volume\nbrood,1000\n"

    assert parse_keyword_file(text) == [PlannedKeyword("brood", 0)]


def test_bad_priority_names_its_line_and_imports_nothing() -> None:
    """A priority that is not a whole number fails the file, naming the line."""
    text = "keyword,priority\nbrood,1\npizza,hoog\ntaart,2\n"

    with pytest.raises(InvalidInput) as caught:
        parse_keyword_file(text)

    assert "Line 3" in caught.value.message
    assert "'hoog'" in caught.value.message
    assert "Nothing was imported" in caught.value.message


def test_bad_priority_line_number_counts_blank_lines() -> None:
    """The line named is the line in the file, blank lines included."""
    text = "keyword,priority\n\nbrood,1\n\npizza,1.5\n"

    with pytest.raises(InvalidInput, match="Line 5:"):
        parse_keyword_file(text)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file_is_refused(text: str) -> None:
    """A file without keywords says so."""
    with pytest.raises(InvalidInput, match="no keywords"):
        parse_keyword_file(text)
