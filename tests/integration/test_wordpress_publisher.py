"""The WordPress publisher against the local WordPress that .ci/wordpress.sh starts.

Tests marked ``wordpress`` run against both of its sites: one with plain
permalinks (REST only via ``?rest_route=``) and one with pretty permalinks
(REST at ``/wp-json/``). The others use a small fake server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from autopilot.errors import ConfigError, JobError
from autopilot.pipeline.publishers import make_publisher
from autopilot.pipeline.publishers.wordpress import (
    WordPressPublisher,
    ownership_marker,
)
from autopilot.pipeline.types import ArticleToPublish

CREDENTIALS_FILE = Path("/tmp/autopilot-wordpress.json")


@dataclass(frozen=True)
class Site:
    """One of the local WordPress sites and the admin's application password."""

    url: str
    username: str
    app_password: str
    pretty: bool

    def publisher(self, password: str | None = None) -> WordPressPublisher:
        """Return a fresh publisher for this site, as a new worker would make."""
        return WordPressPublisher(
            self.url, self.username, password or self.app_password, timeout_seconds=15
        )

    def rest(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        """Call the site's REST API directly, as the test's independent witness."""
        params = {"rest_route": route, **kwargs.pop("params", {})}
        response = httpx.request(
            method,
            f"{self.url}/",
            params=params,
            auth=(self.username, self.app_password),
            timeout=15,
            **kwargs,
        )
        response.raise_for_status()
        return response


@pytest.fixture(scope="module")
def credentials() -> dict[str, Any]:
    """Read what .ci/wordpress.sh wrote; skip locally, fail in CI, if it is missing."""
    if not CREDENTIALS_FILE.exists():
        reason = f"{CREDENTIALS_FILE} is missing: run `bash .ci/wordpress.sh` first"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    data: dict[str, Any] = json.loads(CREDENTIALS_FILE.read_text())
    return data


@pytest.fixture(params=["plain", "pretty"])
def site(request: pytest.FixtureRequest, credentials: dict[str, Any]) -> Site:
    """Each local WordPress site in turn: plain permalinks, then pretty ones."""
    pretty = request.param == "pretty"
    values = credentials["pretty"] if pretty else credentials
    return Site(values["url"], values["username"], values["app_password"], pretty)


def make_article(**changes: Any) -> ArticleToPublish:
    """Return an article with a slug and key no other test uses."""
    token = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "article_id": 1,
        "project_id": 1,
        "idempotency_key": f"article-{token}",
        "title": f"Fietsen in de regen {token}",
        "slug": f"fietsen-regen-{token}",
        "meta_description": "Droog blijven op de fiets.",
        "body_markdown": "Neem een poncho mee.",
        "body_html": "<p>Neem een poncho mee.</p>",
        "language": "nl",
        "keyword": "fietsen regen",
        "status": "draft",
        "categories": (),
        "tags": (),
    }
    values.update(changes)
    return ArticleToPublish(**values)


def count_posts(site: Site, search: str) -> int:
    """Count the posts in any status whose text contains ``search``."""
    response = site.rest(
        "GET",
        "/wp/v2/posts",
        params={"search": search, "status": "any", "context": "edit"},
    )
    return int(response.headers["X-WP-Total"])


@pytest.mark.wordpress
def test_publish_creates_a_draft_with_terms_created_by_name(site: Site) -> None:
    """A first publish creates a draft and creates its categories and tags by name."""
    token = uuid.uuid4().hex[:8]
    article = make_article(
        categories=(f"Fietsen {token}", "Uncategorized"),
        tags=(f"regen-{token}", f"Fiets & Weer {token}"),
    )
    publisher = site.publisher()

    published = publisher.publish(article)

    assert publisher.api is not None and publisher.api.pretty is site.pretty
    post = site.rest(
        "GET", f"/wp/v2/posts/{published.remote_id}", params={"context": "edit"}
    ).json()
    assert post["status"] == "draft"
    assert post["link"] == published.url
    assert post["content"]["raw"].endswith(ownership_marker(article.idempotency_key))

    categories = site.rest(
        "GET", "/wp/v2/categories", params={"include": _ids(post["categories"])}
    ).json()
    tags = site.rest(
        "GET", "/wp/v2/tags", params={"include": _ids(post["tags"])}
    ).json()
    assert sorted(c["name"] for c in categories) == sorted(
        [f"Fietsen {token}", "Uncategorized"]
    )
    assert sorted(t["name"] for t in tags) == sorted(
        [f"regen-{token}", f"Fiets &amp; Weer {token}"]
    )


@pytest.mark.wordpress
def test_publishing_twice_leaves_exactly_one_post(site: Site) -> None:
    """A second attempt from a fresh publisher updates the post, adding none."""
    article = make_article(tags=("dubbel",))

    first = site.publisher().publish(article)
    second = site.publisher().publish(
        dataclasses.replace(article, title=article.title + " (bijgewerkt)")
    )

    assert second.remote_id == first.remote_id
    assert count_posts(site, article.slug.rsplit("-", 1)[1]) == 1
    post = site.rest("GET", f"/wp/v2/posts/{first.remote_id}").json()
    assert post["title"]["rendered"].endswith("(bijgewerkt)")


@pytest.mark.wordpress
@pytest.mark.parametrize("status", ["draft", "publish"])
def test_human_post_with_the_same_slug_is_never_overwritten(
    site: Site, status: str
) -> None:
    """A person's post with our slug stays as it is; ours is made beside it, once."""
    article = make_article(status=status)
    human = site.rest(
        "POST",
        "/wp/v2/posts",
        json={
            "title": "Mijn eigen stuk",
            "slug": article.slug,
            "content": "Met de hand geschreven.",
            "status": "publish",
        },
    ).json()

    first = site.publisher().publish(article)
    second = site.publisher().publish(article)

    assert first.remote_id != str(human["id"])
    assert second.remote_id == first.remote_id
    after = site.rest(
        "GET", f"/wp/v2/posts/{human['id']}", params={"context": "edit"}
    ).json()
    assert after["content"]["raw"] == "Met de hand geschreven."
    assert after["title"]["raw"] == "Mijn eigen stuk"
    assert count_posts(site, article.idempotency_key) == 1
    ours = site.rest("GET", f"/wp/v2/posts/{first.remote_id}").json()
    # WordPress renamed ours, so the second attempt found it by its marker.
    assert ours["slug"] == f"{article.slug}-2"


@pytest.mark.wordpress
def test_wrong_password_is_publish_auth_failed(site: Site) -> None:
    """A wrong application password is publish_auth_failed, not retried, with a hint."""
    publisher = site.publisher(password="abcd efgh ijkl mnop qrst uvwx")

    with pytest.raises(JobError) as caught:
        publisher.publish(make_article())

    assert caught.value.code == "publish_auth_failed"
    assert caught.value.retryable is False
    assert "application password" in caught.value.message
    assert "Authorization header" in caught.value.message


@pytest.mark.wordpress
def test_factory_builds_a_publisher_for_the_local_site(
    site: Site, tmp_path: Path
) -> None:
    """With private targets allowed, the factory's publisher posts to WordPress."""
    publisher = make_publisher(
        "wordpress",
        {"site_url": site.url, "username": site.username},
        {"app_password": site.app_password},
        data_dir=tmp_path,
        project_slug="p",
        allow_private=True,
    )

    published = publisher.publish(make_article())

    assert publisher.name == "wordpress"
    assert site.rest("GET", f"/wp/v2/posts/{published.remote_id}").json()["id"]


def test_factory_names_the_missing_setting(tmp_path: Path) -> None:
    """A WordPress publisher without a username is a ConfigError naming 'username'."""
    with pytest.raises(ConfigError, match="'username'"):
        make_publisher(
            "wordpress",
            {"site_url": "https://93.184.216.34"},
            {"app_password": "x"},
            data_dir=tmp_path,
            project_slug="p",
            allow_private=False,
        )


def test_factory_refuses_a_local_site_unless_allowed(tmp_path: Path) -> None:
    """A WordPress on 127.0.0.1 needs AUTOPILOT_ALLOW_PRIVATE_TARGETS=1."""
    with pytest.raises(ConfigError, match="AUTOPILOT_ALLOW_PRIVATE_TARGETS=1"):
        make_publisher(
            "wordpress",
            {"site_url": "http://127.0.0.1:8881", "username": "admin"},
            {"app_password": "x"},
            data_dir=tmp_path,
            project_slug="p",
            allow_private=False,
        )


Answer = tuple[int, dict[str, str], bytes]
REST_INDEX: Answer = (
    200,
    {"Content-Type": "application/json"},
    b'{"name": "Fake", "namespaces": ["oembed/1.0", "wp/v2"]}',
)
HTML_PAGE: Answer = (200, {"Content-Type": "text/html"}, b"<html>Home</html>")


@pytest.fixture
def fake_site() -> Iterator[Callable[[Callable[[str, str], Answer]], str]]:
    """Start a fake site whose answers a test chooses; return a function to start it."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[str, str], Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, headers, body = answer(self.command, self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _respond

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_site_without_rest_api_is_publish_bad_response(
    fake_site: Callable[[Callable[[str, str], Answer]], str],
) -> None:
    """A site that answers HTML at both REST entry points is publish_bad_response."""
    url = fake_site(lambda method, path: HTML_PAGE)

    with pytest.raises(JobError) as caught:
        WordPressPublisher(url, "admin", "pw").publish(make_article())

    assert caught.value.code == "publish_bad_response"
    assert "text/html" in caught.value.message


def test_html_where_json_was_expected_is_publish_bad_response(
    fake_site: Callable[[Callable[[str, str], Answer]], str],
) -> None:
    """An HTML answer to a REST call names what was received instead of JSON."""

    def answer(method: str, path: str) -> Answer:
        if path == "/wp-json/":
            return REST_INDEX
        return (200, {"Content-Type": "text/html"}, b"<html>Security check</html>")

    url = fake_site(answer)

    with pytest.raises(JobError) as caught:
        WordPressPublisher(url, "admin", "pw").publish(make_article())

    assert caught.value.code == "publish_bad_response"
    assert "Security check" in caught.value.message


def test_rest_route_fallback_puts_route_and_params_in_the_query(
    fake_site: Callable[[Callable[[str, str], Answer]], str],
) -> None:
    """Without /wp-json/, every call goes to /?rest_route=<route>&<params>."""
    paths: list[str] = []

    def answer(method: str, path: str) -> Answer:
        paths.append(f"{method} {path}")
        if path.startswith("/wp-json"):
            return (404, {"Content-Type": "text/html"}, b"Not found")
        if path == "/?rest_route=%2F":
            return REST_INDEX
        if method == "GET":
            return (200, {"Content-Type": "application/json"}, b"[]")
        post = {"id": 5, "link": "http://example/?p=5"}
        return (201, {"Content-Type": "application/json"}, json.dumps(post).encode())

    url = fake_site(answer)
    article = make_article(slug="a-b")

    published = WordPressPublisher(url, "admin", "pw").publish(article)

    assert published.remote_id == "5"
    assert paths[2] == "GET /?rest_route=%2Fwp%2Fv2%2Fusers%2Fme&context=edit"
    assert paths[3].startswith("GET /?rest_route=%2Fwp%2Fv2%2Fposts&slug=a-b&")
    assert paths[-1] == "POST /?rest_route=%2Fwp%2Fv2%2Fposts"


def test_503_with_retry_after_is_retryable(
    fake_site: Callable[[Callable[[str, str], Answer]], str],
) -> None:
    """A 503 from WordPress is a retryable publish_unavailable honouring Retry-After."""
    url = fake_site(lambda method, path: (503, {"Retry-After": "30"}, b"busy"))

    with pytest.raises(JobError) as caught:
        WordPressPublisher(url, "admin", "pw").publish(make_article())

    assert caught.value.code == "publish_unavailable"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 30


def test_other_4xx_is_publish_rejected(
    fake_site: Callable[[Callable[[str, str], Answer]], str],
) -> None:
    """A 400 from WordPress on the post is a non-retryable publish_rejected."""

    def answer(method: str, path: str) -> Answer:
        if path == "/wp-json/":
            return REST_INDEX
        if method == "GET":
            return (200, {"Content-Type": "application/json"}, b"[]")
        error = b'{"code": "rest_invalid_param", "message": "Invalid status"}'
        return (400, {"Content-Type": "application/json"}, error)

    url = fake_site(answer)

    with pytest.raises(JobError) as caught:
        WordPressPublisher(url, "admin", "pw").publish(make_article(status="bogus"))

    assert caught.value.code == "publish_rejected"
    assert caught.value.retryable is False
    assert "400" in caught.value.message and "Invalid status" in caught.value.message


def _ids(ids: list[int]) -> str:
    """Return ids as the comma-separated list WordPress's ``include`` takes."""
    return ",".join(str(i) for i in ids)
