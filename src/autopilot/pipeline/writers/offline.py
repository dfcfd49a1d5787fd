"""A writer that needs no network: a structured draft built from templates.

It exists for the demo and for tests. The prose is generic but reads as text
about the keyword; the same keyword always gives the same draft.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from autopilot.pipeline.types import ArticleBrief, Draft, ProgressFn, TokenUsage
from autopilot.pipeline.writers import is_dutch, shorten, slugify
from autopilot.pipeline.writers.offline_phrases import DUTCH, ENGLISH, Phrases, Topic

_WORDS_PER_SECTION = 150

# Shares of the prose budget; the H2 sections split what is left.
_INTRO_SHARE = 0.10
_FAQ_SHARE = 0.15
_CONCLUSION_SHARE = 0.08

_OPENER_CHANCE = 0.15


def count_words(text: str) -> int:
    """Count the words of a text, ignoring Markdown marks and dashes."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


@dataclass(frozen=True)
class _Part:
    """One section of the draft: an optional H2 over blocks of prose.

    A block with a heading is a question (H3) and its answer.
    """

    heading: str
    blocks: tuple[Topic, ...]
    share: float


class OfflineWriter:
    """Writes a template draft in Dutch (``nl``) or English (any other language).

    Below about 300 words the fixed structure makes the draft longer than asked.
    """

    name = "offline"

    def __init__(self, section_delay_seconds: float = 0.0) -> None:
        self.section_delay_seconds = section_delay_seconds

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft:
        """Write the draft part by part, reporting progress after each part."""
        phrases = DUTCH if is_dutch(brief.language) else ENGLISH
        composer = _Composer(brief.keyword, phrases)
        parts = composer.plan(brief.target_words)
        title = composer.pick(phrases.titles)
        meta_description = shorten(composer.pick(phrases.metas))

        blocks = [composer.fill(phrases.note)]
        remaining = brief.target_words - composer.heading_words(parts)
        for index, part in enumerate(parts):
            if index and self.section_delay_seconds:
                time.sleep(self.section_delay_seconds)

            # Each part gets its share of what the parts before it left, so an
            # early overshoot is made up for later on.
            left = sum(later.share for later in parts[index:])
            text, used = composer.write_part(part, round(remaining * part.share / left))
            blocks.append(text)
            remaining -= used

            message = phrases.progress.format(i=index + 1, n=len(parts))
            progress(round(100 * (index + 1) / len(parts)), message)

        return Draft(
            title=title,
            slug=slugify(title),
            meta_description=meta_description,
            body_markdown="\n\n".join(blocks) + "\n",
            usage=TokenUsage(0, 0),
        )


class _Composer:
    """Fills the templates for one keyword, choosing with a keyword-seeded generator."""

    def __init__(self, keyword: str, phrases: Phrases) -> None:
        self.keyword = " ".join(keyword.split())
        self.phrases = phrases

        digest = hashlib.sha256(self.keyword.lower().encode("utf-8"))
        self.random = random.Random(digest.hexdigest())
        self.deck: list[tuple[str, str]] = []
        self.recent: set[str] = set()

    def fill(self, template: str) -> str:
        """Put the keyword into a template."""
        capital = self.keyword[:1].upper() + self.keyword[1:]
        return template.format(k=self.keyword, K=capital)

    def pick(self, templates: Sequence[str]) -> str:
        """Fill one of the templates."""
        return self.fill(self.random.choice(templates))

    def plan(self, target_words: int) -> list[_Part]:
        """Choose the parts of a draft of about target_words words."""
        phrases = self.phrases
        body_share = 1 - _INTRO_SHARE - _FAQ_SHARE - _CONCLUSION_SHARE
        count = round(target_words * body_share / _WORDS_PER_SECTION)
        count = max(2, min(count, len(phrases.topics)))
        questions = 3 if target_words < 1500 else 4

        # Sampled positions are sorted so the sections keep their natural order.
        topics = self._sample(phrases.topics, count)
        return [
            _Part("", (phrases.intro,), _INTRO_SHARE),
            *(
                _Part(topic.heading, (replace(topic, heading=""),), body_share / count)
                for topic in topics
            ),
            _Part(
                phrases.faq_heading, self._sample(phrases.faq, questions), _FAQ_SHARE
            ),
            _Part(
                phrases.conclusion.heading,
                (replace(phrases.conclusion, heading=""),),
                _CONCLUSION_SHARE,
            ),
        ]

    def heading_words(self, parts: Sequence[_Part]) -> int:
        """Count the words of the note and of every heading."""
        headings = [part.heading for part in parts]
        headings += [block.heading for part in parts for block in part.blocks]
        return count_words(self.fill(" ".join([self.phrases.note, *headings])))

    def write_part(self, part: _Part, budget: int) -> tuple[str, int]:
        """Return a part's Markdown and the words of prose in it."""
        lines = [f"## {self.fill(part.heading)}"] if part.heading else []
        self.recent.clear()
        used = 0
        for index, block in enumerate(part.blocks):
            if block.heading:
                lines.append(f"### {self.fill(block.heading)}")

            share = round((budget - used) / (len(part.blocks) - index))
            sentences = self._compose(block, share)
            used += count_words(" ".join(sentences))
            lines.extend(self._paragraphs(sentences))

        return "\n\n".join(lines), used

    def _compose(self, block: Topic, budget: int) -> list[str]:
        """Choose sentences for about budget words.

        The block's first sentence and its closing are always there; its other
        sentences are preferred over general ones; a sentence is added while that
        brings the count closer to the budget.
        """
        chosen = [self.fill(block.sentences[0])]
        closing = [self.fill(block.closing)] if block.closing else []
        words = count_words(" ".join(chosen + closing))
        preferred = [self.fill(sentence) for sentence in block.sentences[1:]]
        while True:
            sentence = preferred[0] if preferred else self._next_general()
            size = count_words(sentence)
            if words + size / 2 >= budget:
                return chosen + closing

            if preferred:
                preferred.pop(0)
            else:
                self.recent.add(self.deck.pop()[0])
            chosen.append(sentence)
            words += size

    def _next_general(self) -> str:
        """Peek at the next general sentence, reshuffling when all have been used."""
        if not self.deck:
            templates = list(self.phrases.general)
            self.random.shuffle(templates)

            # The deck is drawn from the end: what this part already said goes
            # to the bottom, so no sentence repeats within a section.
            templates.sort(key=lambda template: template not in self.recent)
            self.deck = [(template, self._vary(template)) for template in templates]

        return self.deck[-1][1]

    def _vary(self, template: str) -> str:
        """Fill a general template, now and then behind a short opener."""
        if self.random.random() >= _OPENER_CHANCE:
            return self.fill(template)

        lowered = "{k}" + template[3:] if template.startswith("{K}") else template
        lowered = lowered[:1].lower() + lowered[1:]
        return f"{self.random.choice(self.phrases.openers)} {self.fill(lowered)}"

    def _paragraphs(self, sentences: Sequence[str]) -> list[str]:
        """Group sentences into paragraphs of three or four."""
        groups: list[list[str]] = []
        rest = list(sentences)
        while rest:
            size = self.random.choice((3, 4))
            groups.append(rest[:size])
            rest = rest[size:]

        # A lone closing sentence reads better as part of the paragraph before.
        if len(groups) > 1 and len(groups[-1]) == 1:
            groups[-2].extend(groups.pop())
        return [" ".join(group) for group in groups]

    def _sample(self, items: Sequence[Topic], count: int) -> tuple[Topic, ...]:
        """Choose count items, kept in their original order."""
        positions = sorted(self.random.sample(range(len(items)), count))
        return tuple(items[i] for i in positions)
