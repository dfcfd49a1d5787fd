from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply, completion, error

from autopilot.errors import JobError
from autopilot.pipeline.types import ArticleBrief, Draft
from autopilot.pipeline.writers import make_writer
from autopilot.pipeline.writers.openai import OpenAIWriter

API_KEY = "sk-test-0123456789abcdef"

OUTLINE = {
    "title": "Tuinhuis kopen: waar let je op?",
    "meta_description": "Een tuinhuis kopen doe je niet elke dag. " * 6,
    "sections": ["Welk formaat past bij je tuin?", "Hout of kunststof", "Conclusie"],
}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def writer(server: FakeOpenAIServer) -> OpenAIWriter:
    return OpenAIWriter(
        base_url=server.base_url,
        model="test-model",
        api_key=API_KEY,
        timeout_seconds=5.0,
        temperature=0.3,
    )


def _write(
    writer: OpenAIWriter, language: str = "en"
) -> tuple[Draft, list[tuple[int, str]]]:
    calls: list[tuple[int, str]] = []
    brief = ArticleBrief(keyword="tuinhuis kopen", language=language, target_words=800)
    draft = writer.write(
        brief, lambda percent, message: calls.append((percent, message))
    )
    return draft, calls


def _fail(writer: OpenAIWriter) -> JobError:
    with pytest.raises(JobError) as caught:
        _write(writer)
    return caught.value


def _article_replies() -> list[Reply]:
    fenced_outline = f"```json\n{json.dumps(OUTLINE)}\n```"
    return [
        completion(fenced_outline, prompt_tokens=100, completion_tokens=50),
        completion("Een tuinhuis is een flinke aankoop.", prompt_tokens=80),
        completion("## Welk formaat past bij je tuin?\n\nMeet eerst je tuin op."),
        completion("Hout is warm, kunststof vraagt weinig onderhoud."),
        completion("Kies wat bij je tuin past.", completion_tokens=7),
    ]


def test_writes_article_from_outline_and_sections(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """An outline and one completion per section become a whole Markdown article."""
    server.queue(*_article_replies())

    draft, calls = _write(writer)

    assert draft.title == OUTLINE["title"]
    assert draft.slug == "tuinhuis-kopen-waar-let-je-op"
    assert len(draft.meta_description) <= 155
    assert draft.meta_description.endswith("…")
    assert draft.body_markdown == (
        "Een tuinhuis is een flinke aankoop.\n\n"
        "## Welk formaat past bij je tuin?\n\nMeet eerst je tuin op.\n\n"
        "## Hout of kunststof\n\nHout is warm, kunststof vraagt weinig onderhoud.\n\n"
        "## Conclusie\n\nKies wat bij je tuin past.\n"
    )
    assert draft.usage.prompt_tokens == 100 + 80 + 10 + 10 + 10
    assert draft.usage.completion_tokens == 50 + 20 + 20 + 20 + 7
    assert calls == [
        (10, "outline ready"),
        (32, "section 1 of 4"),
        (55, "section 2 of 4"),
        (78, "section 3 of 4"),
        (100, "section 4 of 4"),
    ]


def test_dutch_brief_reports_progress_in_dutch(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A Dutch brief gets its progress messages in Dutch."""
    server.queue(*_article_replies())

    _, calls = _write(writer, language="nl")

    assert [message for _, message in calls] == [
        "opzet klaar",
        "sectie 1 van 4",
        "sectie 2 van 4",
        "sectie 3 van 4",
        "sectie 4 van 4",
    ]


def test_requests_carry_the_model_and_bearer_key(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """Every request names the model and authenticates with the project's key."""
    server.queue(*_article_replies())

    _write(writer)

    assert len(server.requests) == 5
    for request in server.requests:
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.body["model"] == "test-model"
        assert request.body["temperature"] == 0.3
    first_prompt = server.requests[0].body["messages"][-1]["content"]
    assert "tuinhuis kopen" in first_prompt
    assert "JSON" in first_prompt


def test_rate_limit_is_retryable_after_the_servers_delay(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 429 with Retry-After: 7 becomes a retryable llm_rate_limited after 7 s."""
    server.queue(
        error(429, "Rate limit reached", type_="requests", headers={"Retry-After": "7"})
    )

    failure = _fail(writer)

    assert failure.code == "llm_rate_limited"
    assert failure.retryable
    assert failure.retry_after == 7
    assert len(server.requests) == 1


def test_rate_limit_reads_retry_after_as_an_http_date(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A Retry-After given as an HTTP date becomes the seconds until that date."""
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.queue(error(429, "Slow down", headers={"Retry-After": later}))

    failure = _fail(writer)

    assert failure.code == "llm_rate_limited"
    assert failure.retry_after is not None
    assert 20 <= failure.retry_after <= 30


def test_exhausted_quota_is_not_retryable(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 429 saying insufficient_quota is llm_quota_exhausted, not worth a retry."""
    server.queue(
        error(
            429,
            "You exceeded your current quota, please check your plan.",
            type_="insufficient_quota",
            code="insufficient_quota",
        )
    )

    failure = _fail(writer)

    assert failure.code == "llm_quota_exhausted"
    assert not failure.retryable


def test_server_error_is_retryable(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 500 from the server becomes a retryable llm_unavailable."""
    server.queue(error(500, "The server had an error", type_="server_error"))

    failure = _fail(writer)

    assert failure.code == "llm_unavailable"
    assert failure.retryable
    assert len(server.requests) == 1


def test_slow_server_times_out(server: FakeOpenAIServer) -> None:
    """A server slower than timeout_seconds gives a retryable llm_timeout."""
    writer = OpenAIWriter(server.base_url, "test-model", API_KEY, timeout_seconds=0.5)
    server.queue(Reply(body=completion("late").body, delay=3.0))

    failure = _fail(writer)

    assert failure.code == "llm_timeout"
    assert failure.retryable
    assert "0.5 seconds" in failure.message


def test_unreachable_server_is_retryable() -> None:
    """A base URL where nothing listens gives a retryable llm_unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    writer = OpenAIWriter(f"http://127.0.0.1:{port}/v1", "test-model", API_KEY)

    failure = _fail(writer)

    assert failure.code == "llm_unreachable"
    assert failure.retryable


@pytest.mark.parametrize(
    "answer",
    [
        "Here is a nice outline for your article!",
        '{"title": "Tuinhuis kopen", "sections": ["Een", "Twee"]}',
        '```json\n{"title": "Tuinhuis kopen", "meta_description": "x", '
        '"sections": "Een"}\n```',
    ],
    ids=["not-json", "missing-meta", "sections-not-a-list"],
)
def test_malformed_outline_is_bad_output(
    server: FakeOpenAIServer, writer: OpenAIWriter, answer: str
) -> None:
    """An outline that is not the JSON asked for gives a retryable llm_bad_output."""
    server.queue(completion(answer))

    failure = _fail(writer)

    assert failure.code == "llm_bad_output"
    assert failure.retryable
    assert "outline" in failure.message


def test_answer_that_is_not_a_chat_completion_is_bad_output(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A server answering 200 with an HTML page gives llm_bad_output naming the URL."""
    server.queue(Reply(body="<html><body>Welcome</body></html>"))

    failure = _fail(writer)

    assert failure.code == "llm_bad_output"
    assert "writer.base_url" in failure.message


def test_rejected_key_is_an_auth_failure_that_hides_the_key(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 401 gives a non-retryable llm_auth_failed whose message never shows the key."""
    server.queue(
        error(401, f"Incorrect API key provided: {API_KEY}", code="invalid_api_key")
    )

    failure = _fail(writer)

    assert failure.code == "llm_auth_failed"
    assert not failure.retryable
    assert API_KEY not in failure.message
    assert "--writer-api-key" in failure.message


def test_unknown_model_is_a_bad_request_naming_model_and_url(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 404 gives a non-retryable llm_bad_request that points at model and URL."""
    server.queue(error(404, "The model `test-model` does not exist"))

    failure = _fail(writer)

    assert failure.code == "llm_bad_request"
    assert not failure.retryable
    assert "'test-model'" in failure.message
    assert "writer.base_url" in failure.message


def test_rejected_request_is_a_bad_request_with_the_servers_reason(
    server: FakeOpenAIServer, writer: OpenAIWriter
) -> None:
    """A 400 gives a non-retryable llm_bad_request quoting the server's reason."""
    server.queue(error(400, "temperature is not supported with this model"))

    failure = _fail(writer)

    assert failure.code == "llm_bad_request"
    assert not failure.retryable
    assert "temperature is not supported" in failure.message


def test_factory_writer_without_key_still_talks_to_a_keyless_server(
    server: FakeOpenAIServer,
) -> None:
    """A writer built without an API key works against a server that needs none."""
    writer = make_writer("openai", {"base_url": server.base_url, "model": "llama3"}, {})
    server.queue(*_article_replies())

    draft = writer.write(ArticleBrief(keyword="tuinhuis kopen"), lambda _p, _m: None)

    assert draft.title == OUTLINE["title"]
    assert server.requests[0].body["model"] == "llama3"
