from __future__ import annotations

import re

import pytest

from autopilot.errors import ConfigError
from autopilot.pipeline.types import ArticleBrief, Draft
from autopilot.pipeline.writers import make_writer, shorten, slugify
from autopilot.pipeline.writers.offline import OfflineWriter

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _write(
    keyword: str = "tuinhuis kopen", language: str = "nl", target_words: int = 800
) -> tuple[Draft, list[tuple[int, str]]]:
    calls: list[tuple[int, str]] = []
    brief = ArticleBrief(keyword=keyword, language=language, target_words=target_words)
    draft = OfflineWriter().write(
        brief, lambda percent, message: calls.append((percent, message))
    )
    return draft, calls


def _headings(body: str, level: int) -> list[str]:
    marks = "#" * level
    return [
        line[level + 1 :] for line in body.splitlines() if line.startswith(f"{marks} ")
    ]


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("target_words", [300, 800, 1500, 2500])
def test_draft_length_is_within_a_fifth_of_the_target(
    language: str, target_words: int
) -> None:
    """The body has the target number of words, give or take 20%."""
    draft, _ = _write(language=language, target_words=target_words)

    words = len(_WORD.findall(draft.body_markdown))

    assert 0.8 * target_words <= words <= 1.2 * target_words


@pytest.mark.parametrize(
    "keyword",
    [
        "tuinhuis kopen",
        "hoe kies je de beste energieleverancier voor een gezin met zonnepanelen, "
        "een warmtepomp en een elektrische auto",
    ],
)
def test_meta_description_fits_in_155_characters(keyword: str) -> None:
    """The meta description is never longer than 155 characters."""
    draft, _ = _write(keyword=keyword)

    assert 0 < len(draft.meta_description) <= 155
    assert "\n" not in draft.meta_description


def test_slug_is_lowercase_ascii_with_accents_folded() -> None:
    """The slug is lowercase ASCII words joined by hyphens, accents folded."""
    draft, _ = _write(keyword="Crème brûlée maken")

    assert _SLUG.fullmatch(draft.slug)
    assert "creme-brulee-maken" in draft.slug


def test_dutch_draft_says_it_is_offline_and_is_in_dutch() -> None:
    """A Dutch draft opens with the offline note and uses Dutch headings."""
    draft, _ = _write(language="nl")

    first_line = draft.body_markdown.splitlines()[0]
    assert "Offline concept — geschreven zonder taalmodel" in first_line
    assert "Veelgestelde vragen over tuinhuis kopen" in _headings(
        draft.body_markdown, 2
    )
    assert _headings(draft.body_markdown, 2)[-1] == "Conclusie"


def test_english_draft_says_it_is_offline_and_is_in_english() -> None:
    """An English draft opens with the offline note and uses English headings."""
    draft, _ = _write(keyword="garden shed", language="en")

    first_line = draft.body_markdown.splitlines()[0]
    assert "Offline draft — written without a language model" in first_line
    h2 = _headings(draft.body_markdown, 2)
    assert "Frequently asked questions about garden shed" in h2
    assert h2[-1] == "Conclusion"


def test_unknown_language_gets_an_english_draft() -> None:
    """A language without Dutch or English templates falls back to English."""
    draft, calls = _write(language="de")

    assert draft.body_markdown.startswith("> **Offline draft")
    assert calls[0][1].startswith("section 1 of")


def test_draft_has_intro_sections_faq_and_conclusion() -> None:
    """The body has an introduction, H2 sections, an FAQ of questions, a conclusion."""
    draft, _ = _write(target_words=800)
    body = draft.body_markdown

    h2 = _headings(body, 2)
    questions = _headings(body, 3)
    intro = body.split("\n## ")[0].split("\n\n")[1:]
    faq = body.split("\n## Veelgestelde vragen")[1].split("\n## ")[0]
    assert len(h2) >= 4
    assert intro and "tuinhuis kopen" in intro[0]
    assert len(questions) >= 3
    assert all(question.endswith("?") and question in faq for question in questions)


def test_longer_targets_get_more_sections() -> None:
    """The number of H2 sections grows with the target length."""
    short, _ = _write(target_words=600)
    long, _ = _write(target_words=2500)

    assert len(_headings(long.body_markdown, 2)) > len(
        _headings(short.body_markdown, 2)
    )


def test_progress_is_reported_after_each_section_in_dutch() -> None:
    """Progress counts every section in Dutch, rising to 100 percent."""
    draft, calls = _write(language="nl")

    sections = len(_headings(draft.body_markdown, 2)) + 1
    assert [message for _, message in calls] == [
        f"sectie {i} van {sections}" for i in range(1, sections + 1)
    ]
    percents = [percent for percent, _ in calls]
    assert percents == sorted(percents)
    assert percents[-1] == 100


def test_progress_is_reported_in_english_for_english_drafts() -> None:
    """English drafts report progress as 'section i of n'."""
    _, calls = _write(language="en")

    assert calls[0][1] == f"section 1 of {len(calls)}"
    assert calls[-1] == (100, f"section {len(calls)} of {len(calls)}")


def test_writer_sleeps_between_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a section delay, the writer pauses between sections, not after the last."""
    pauses: list[float] = []
    monkeypatch.setattr("autopilot.pipeline.writers.offline.time.sleep", pauses.append)
    calls: list[tuple[int, str]] = []

    OfflineWriter(section_delay_seconds=0.25).write(
        ArticleBrief(keyword="tuinhuis kopen"),
        lambda percent, message: calls.append((percent, message)),
    )

    assert pauses == [0.25] * (len(calls) - 1)


def test_same_keyword_gives_the_same_draft() -> None:
    """Writing the same brief twice gives an identical draft."""
    first, _ = _write(keyword="zonnepanelen installeren")
    second, _ = _write(keyword="zonnepanelen installeren")
    other, _ = _write(keyword="warmtepomp kiezen")

    assert first == second
    assert other.body_markdown != first.body_markdown


def test_offline_draft_spends_no_tokens() -> None:
    """The offline writer reports zero token usage."""
    draft, _ = _write()

    assert draft.usage.total_tokens == 0


def test_slugify_falls_back_for_text_without_ascii_letters() -> None:
    """A title with nothing to fold to ASCII still gets a stable slug."""
    assert slugify("Straße & Smørrebrød") == "strasse-smorrebrod"
    assert slugify("東京") == slugify("東京")
    assert _SLUG.fullmatch(slugify("東京"))


def test_shorten_cuts_at_a_word_boundary() -> None:
    """Shortened text ends on a whole word and fits the limit."""
    text = "een " * 60

    short = shorten(text, 50)

    assert len(short) <= 50
    assert short.endswith("een…")


def test_make_writer_builds_an_offline_writer_with_its_delay() -> None:
    """The factory builds the offline writer with the configured delay."""
    writer = make_writer("offline", {"section_delay_seconds": "0.5"}, {})

    assert isinstance(writer, OfflineWriter)
    assert writer.section_delay_seconds == 0.5


def test_make_writer_names_the_missing_setting() -> None:
    """An openai writer without a base URL is refused with the command that sets it."""
    with pytest.raises(ConfigError, match=r"writer\.base_url is missing") as caught:
        make_writer("openai", {"model": "gpt-4o-mini"}, {"api_key": "sk-x"})

    assert "--writer-base-url" in caught.value.message


def test_make_writer_refuses_a_non_numeric_timeout() -> None:
    """A timeout that is not a number is refused naming the setting."""
    settings = {"base_url": "http://x/v1", "model": "m", "timeout_seconds": "soon"}

    with pytest.raises(ConfigError, match=r"writer\.timeout_seconds"):
        make_writer("openai", settings, {})


def test_make_writer_lists_known_kinds_for_an_unknown_one() -> None:
    """An unknown writer kind is refused with the kinds that exist."""
    with pytest.raises(ConfigError, match="offline, openai"):
        make_writer("gpt", {}, {})
