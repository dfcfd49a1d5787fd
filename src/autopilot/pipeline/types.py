"""The two small interfaces the run is written against: writers and publishers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

ProgressFn = Callable[[int, str], None]
"""Reports progress within a stage: percent (0-100) and a short message."""


@dataclass(frozen=True)
class ArticleBrief:
    """What a writer is asked to write."""

    keyword: str
    language: str = "nl"
    tone: str = "informative"
    target_words: int = 800
    project_name: str = ""
    site_url: str | None = None


@dataclass(frozen=True)
class TokenUsage:
    """Tokens a language model spent on one article."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Draft:
    """An article as a writer returns it; the body is Markdown."""

    title: str
    slug: str
    meta_description: str
    body_markdown: str
    usage: TokenUsage = field(default_factory=TokenUsage)


class Writer(Protocol):
    """Turns a brief into a draft, reporting progress as it goes."""

    name: str

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft: ...


@dataclass(frozen=True)
class ArticleToPublish:
    """A stored article on its way to a site.

    ``idempotency_key`` is the same for every attempt at this article, so a
    publisher can find what an earlier, interrupted attempt already created.
    """

    article_id: int
    project_id: int
    idempotency_key: str
    title: str
    slug: str
    meta_description: str
    body_markdown: str
    body_html: str
    language: str
    keyword: str
    status: str = "draft"
    categories: Sequence[str] = ()
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class Published:
    """Where a publisher put an article."""

    remote_id: str
    url: str


class Publisher(Protocol):
    """Delivers an article idempotently: a second call for it changes no count."""

    name: str

    def publish(self, article: ArticleToPublish) -> Published: ...
