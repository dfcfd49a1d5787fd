"""A writer for any OpenAI-compatible chat-completions server.

It asks for an outline as JSON, then writes the introduction and each section
in a completion of its own, and assembles the Markdown. HTTP failures become
``JobError`` codes the job engine can act on.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from autopilot.errors import JobError
from autopilot.pipeline.types import ArticleBrief, Draft, ProgressFn, TokenUsage
from autopilot.pipeline.writers import is_dutch, shorten, slugify

logger = logging.getLogger(__name__)

_WORDS_PER_SECTION = 180
_INTRO_SHARE = 0.10
_OUTLINE_PERCENT = 10

# Local servers (Ollama, llama.cpp) want no key, but the SDK refuses to start
# without one.
_KEYLESS = "no-key"

_LANGUAGES = {"nl": "Dutch", "en": "English", "de": "German", "fr": "French"}

_FENCED = re.compile(r"```[\w-]*\s*\n(.*?)```", re.DOTALL)

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Outline(BaseModel):
    """The plan a language model proposes before it writes."""

    title: _Text
    meta_description: _Text
    sections: list[_Text] = Field(min_length=2, max_length=20)

    @field_validator("sections")
    @classmethod
    def _bare_headings(cls, sections: list[str]) -> list[str]:
        """Drop the Markdown marks a model may put before a heading."""
        bare = [heading.lstrip("#").strip() for heading in sections]
        if not all(bare):
            raise ValueError("a heading is empty")
        return bare


class OpenAIWriter:
    """Writes an article with a chat-completions model, one section at a time."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        timeout_seconds: float = 60.0,
        temperature: float = 0.7,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self._api_key = api_key or _KEYLESS
        self.timeout_seconds = timeout_seconds
        self.temperature = temperature

    def write(self, brief: ArticleBrief, progress: ProgressFn) -> Draft:
        """Write the article, reporting progress after the outline and each section."""
        client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=self.timeout_seconds,
            max_retries=0,
        )
        with client:
            chat = _Chat(client, self.model, self.temperature, _system_prompt(brief))
            try:
                return _write(chat, brief, progress)
            except openai.APIError as exc:
                raise self._job_error(exc) from exc

    def _job_error(self, exc: openai.APIError) -> JobError:
        """Say what a failed request means for the run and what to do about it."""
        where = f"The language model server at {self.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return JobError(
                "llm_timeout",
                f"{where} did not answer within {self.timeout_seconds:g} seconds. "
                "The run is retried while attempts remain; if this keeps happening, "
                "raise writer.timeout_seconds or choose a faster model.",
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            return JobError(
                "llm_unreachable",
                f"{where} could not be reached. Check that it is running and that "
                "writer.base_url is right; the run is retried while attempts remain.",
                retryable=True,
            )
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, where)

        return _not_a_completion()

    def _status_error(self, exc: openai.APIStatusError, where: str) -> JobError:
        """Map an HTTP error status to a job error."""
        status = exc.status_code
        detail = self._detail(exc)
        if status == 429:
            return _rate_limit_error(exc, detail, where)
        if status in (401, 403):
            allowed = f" allowed to use model {self.model!r}" if status == 403 else ""
            return JobError(
                "llm_auth_failed",
                f"{where} refused the API key (HTTP {status}). Set a valid key"
                f"{allowed} with `autopilot projects set PROJECT --writer-api-key "
                "KEY`.",
            )
        if status == 404:
            return JobError(
                "llm_bad_request",
                f"{where} answered 404 Not Found: the model {self.model!r} does not "
                "exist there, or writer.base_url is wrong (it usually ends in /v1). "
                "Check writer.model and writer.base_url.",
            )
        if status >= 500 or status in (408, 409):
            return JobError(
                "llm_unavailable",
                f"{where} failed with HTTP {status} ({detail}). This is usually "
                "temporary; the run is retried while attempts remain.",
                retryable=True,
            )
        return JobError(
            "llm_bad_request",
            f"{where} rejected the request with HTTP {status} ({detail}). Check "
            "the project's writer settings (model, temperature).",
        )

    def _detail(self, exc: openai.APIStatusError) -> str:
        """Return the server's own short explanation, with the key blotted out."""
        body = exc.body
        message = body.get("message") if isinstance(body, Mapping) else None
        text = " ".join(str(message or exc.message).split())
        return shorten(text.replace(self._api_key, "***"), 200)


def _rate_limit_error(exc: openai.APIStatusError, detail: str, where: str) -> JobError:
    """Tell an exhausted quota, which waiting does not fix, from a rate limit."""
    said = f"{exc.code} {exc.type} {detail}".lower()
    if "insufficient_quota" in said or "exceeded your current quota" in said:
        return JobError(
            "llm_quota_exhausted",
            f"{where} says the account's quota is used up (HTTP 429). Add credit "
            "or raise the spending limit with the provider, then run the job again.",
        )

    retry_after = _retry_after(exc.response.headers)
    when = f" in {retry_after:g} seconds" if retry_after is not None else ""
    return JobError(
        "llm_rate_limited",
        f"{where} is limiting the rate of requests (HTTP 429). The run is retried"
        f"{when} while attempts remain.",
        retryable=True,
        retry_after=retry_after,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Read a Retry-After header given in seconds or as an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None

    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str) -> float | None:
    """Return the seconds from now until an HTTP date, or None if it is not one."""
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


class _Chat:
    """One article's conversation partner: sends prompts and counts tokens."""

    def __init__(
        self, client: openai.OpenAI, model: str, temperature: float, system: str
    ) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature
        self.system = system
        self.prompt_tokens = 0
        self.completion_tokens = 0

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage(self.prompt_tokens, self.completion_tokens)

    def ask(self, prompt: str) -> str:
        """Return the model's answer to one prompt."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": prompt},
        ]
        response = self.client.chat.completions.create(
            model=self.model, messages=messages, temperature=self.temperature
        )

        # A server that is not OpenAI-compatible gets through the SDK as a bare
        # string or as a completion without choices.
        if not isinstance(response, ChatCompletion) or not response.choices:
            raise _not_a_completion()

        usage = response.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
        logger.debug(
            "llm_completion",
            extra={
                "event": "llm_completion",
                "model": self.model,
                "total_tokens": usage.total_tokens if usage else None,
            },
        )

        choice = response.choices[0]
        content = choice.message.content
        if not content or not content.strip():
            raise JobError(
                "llm_bad_output",
                "The language model returned no text (finish reason: "
                f"{choice.finish_reason}). "
                "The run is retried while attempts remain; if this keeps happening, "
                "choose another model.",
                retryable=True,
            )
        return content.strip()


def _write(chat: _Chat, brief: ArticleBrief, progress: ProgressFn) -> Draft:
    """Plan, write and assemble the article."""
    dutch = is_dutch(brief.language)
    count = round(brief.target_words * (1 - _INTRO_SHARE) / _WORDS_PER_SECTION)
    outline = _parse_outline(chat.ask(_outline_prompt(brief, max(3, min(count, 10)))))
    progress(_OUTLINE_PERCENT, "opzet klaar" if dutch else "outline ready")

    intro_words = max(60, round(brief.target_words * _INTRO_SHARE))
    section_words = max(50, (brief.target_words - intro_words) // len(outline.sections))
    prompts = [_intro_prompt(brief, outline, intro_words)]
    prompts += [
        _section_prompt(brief, outline, index, section_words)
        for index in range(len(outline.sections))
    ]

    texts: list[str] = []
    for index, prompt in enumerate(prompts, start=1):
        texts.append(_prose(chat.ask(prompt)))

        share = (100 - _OUTLINE_PERCENT) * index / len(prompts)
        template = "sectie {i} van {n}" if dutch else "section {i} of {n}"
        progress(
            _OUTLINE_PERCENT + round(share), template.format(i=index, n=len(prompts))
        )

    body = [texts[0]]
    for heading, text in zip(outline.sections, texts[1:], strict=True):
        body += [f"## {heading}", text]
    return Draft(
        title=outline.title,
        slug=slugify(outline.title),
        meta_description=shorten(outline.meta_description),
        body_markdown="\n\n".join(body) + "\n",
        usage=chat.usage,
    )


def _parse_outline(answer: str) -> _Outline:
    """Read the outline from a model's answer, with or without a code fence."""
    fenced = _FENCED.search(answer)
    text = fenced.group(1) if fenced else answer
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise _bad_outline("the answer holds no JSON object")

    try:
        return _Outline.model_validate_json(text[start : end + 1])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'JSON'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise _bad_outline(problems) from exc


def _not_a_completion() -> JobError:
    return JobError(
        "llm_bad_output",
        "The language model server sent an answer that is not a chat completion. "
        "Check that writer.base_url points at an OpenAI-compatible API (it usually "
        "ends in /v1).",
        retryable=True,
    )


def _bad_outline(problem: str) -> JobError:
    return JobError(
        "llm_bad_output",
        "The language model did not return the outline as JSON with a title, "
        f"meta_description and sections ({problem}). The run is retried while "
        "attempts remain; if this keeps happening, choose a more capable model.",
        retryable=True,
    )


def _prose(answer: str) -> str:
    """Unwrap a fenced answer and drop a heading the model repeated on top."""
    fenced = _FENCED.fullmatch(answer)
    text = fenced.group(1).strip() if fenced else answer
    first, _, rest = text.partition("\n")
    if re.match(r"#{1,2}\s", first):
        return rest.strip()
    return text


def _language(brief: ArticleBrief) -> str:
    code = brief.language.lower().split("-")[0]
    return _LANGUAGES.get(code, f"the language with code {brief.language!r}")


def _system_prompt(brief: ArticleBrief) -> str:
    site = brief.site_url or brief.project_name
    return (
        "You are an experienced SEO copywriter. "
        f"You write in {_language(brief)}, in a {brief.tone} tone"
        + (f", for the website {site}" if site else "")
        + ". You write Markdown, never the article's title, and no text about "
        "yourself or the task."
    )


def _outline_prompt(brief: ArticleBrief, count: int) -> str:
    return (
        f'Plan an article about the keyword "{brief.keyword}" of about '
        f"{brief.target_words} words. Reply with only a JSON object, no other text: "
        '{"title": "...", "meta_description": "...", "sections": ["...", "..."]}. '
        "title: at most 60 characters, with the keyword. meta_description: at most "
        "155 characters, inviting the reader to click. sections: "
        f"{count} H2 headings in reading order, the last one a conclusion."
    )


def _intro_prompt(brief: ArticleBrief, outline: _Outline, words: int) -> str:
    return (
        f'Write the introduction of the article "{outline.title}" about '
        f'"{brief.keyword}": about {words} words, one or two paragraphs, no '
        f"heading. The sections that follow are: {_listing(outline.sections)}."
    )


def _section_prompt(
    brief: ArticleBrief, outline: _Outline, index: int, words: int
) -> str:
    heading = outline.sections[index]
    last = index == len(outline.sections) - 1
    return (
        f'The article "{outline.title}" about "{brief.keyword}" has these '
        f"sections: {_listing(outline.sections)}. Write only the section "
        f'"{heading}": about {words} words, without its heading; use ### '
        "subheadings only where they help."
        + (" It is the last section: round the article off." if last else "")
    )


def _listing(headings: Sequence[str]) -> str:
    return "; ".join(f"{number}. {text}" for number, text in enumerate(headings, 1))
