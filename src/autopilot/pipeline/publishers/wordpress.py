"""Publishes articles to a WordPress site through its REST API."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from autopilot.errors import JobError
from autopilot.pipeline.publishers import (
    USER_AGENT,
    excerpt,
    http_error,
    transport_error,
)
from autopilot.pipeline.types import ArticleToPublish, Published

AUTH_HINT = (
    "Check the username and application password; some hosts strip the "
    "Authorization header — see the WordPress application-passwords documentation."
)

# Keys made only of these survive WordPress's comment filtering unchanged.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:]+(?:-[A-Za-z0-9_.:]+)*")


@dataclass(frozen=True)
class RestApi:
    """Where a site's REST API answers: under /wp-json/ or via ?rest_route=."""

    site_url: str
    pretty: bool

    def endpoint(
        self, route: str, params: Mapping[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """Return the URL and query parameters that reach ``route``."""
        if self.pretty:
            return f"{self.site_url}/wp-json{route}", dict(params or {})
        # Without pretty permalinks the route itself is a query parameter, and
        # httpx joins it with the others using "&".
        return f"{self.site_url}/", {"rest_route": route, **(params or {})}


def ownership_marker(idempotency_key: str) -> str:
    """Return the HTML comment that marks a post as written for this article."""
    return f"<!-- {_marker_token(idempotency_key)} -->"


def _marker_token(idempotency_key: str) -> str:
    """Return the searchable text inside the marker comment."""
    if _PLAIN_KEY.fullmatch(idempotency_key):
        return f"autopilot:{idempotency_key}"
    # WordPress rewrites "--" and some characters inside comments for users
    # without unfiltered_html, which would make the marker unrecognisable.
    return "autopilot:sha256-" + hashlib.sha256(idempotency_key.encode()).hexdigest()


class WordPressPublisher:
    """Creates or updates a post, authenticated with an application password.

    The post's content ends with ``<!-- autopilot:KEY -->``; that marker, not
    the slug, decides whether a post is ours, so a retry updates the post an
    earlier attempt created and a person's post with the same slug is left
    alone. It works on stock WordPress, with or without pretty permalinks.
    """

    name = "wordpress"

    def __init__(
        self,
        site_url: str,
        username: str,
        app_password: str,
        timeout_seconds: float = 30,
    ) -> None:
        self.site_url = site_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._auth = httpx.BasicAuth(username, app_password)
        self.api: RestApi | None = None

    def publish(self, article: ArticleToPublish) -> Published:
        """Create or update the article's post and return its id and link."""
        with httpx.Client(
            auth=self._auth,
            timeout=self.timeout_seconds,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        ) as client:
            if self.api is None:
                self.api = self._connect(client)
            call = _Caller(client, self.api, self.site_url)

            marker = ownership_marker(article.idempotency_key)
            post = {
                "title": article.title,
                "slug": article.slug,
                "content": f"{article.body_html.rstrip()}\n\n{marker}",
                "excerpt": article.meta_description,
                "status": article.status,
                "categories": call.term_ids("/wp/v2/categories", article.categories),
                "tags": call.term_ids("/wp/v2/tags", article.tags),
            }

            own_id = call.find_own_post(article)
            route = "/wp/v2/posts" if own_id is None else f"/wp/v2/posts/{own_id}"
            saved = _as_dict(call.json("POST", route, body=post), route)

        if not isinstance(saved.get("link"), str):
            raise _bad_response(f"{route} answered without the post's link")
        return Published(remote_id=str(_id(saved, route)), url=saved["link"])

    def _connect(self, client: httpx.Client) -> RestApi:
        """Find the REST API and check that WordPress accepts our credentials."""
        api = self._discover(client)

        # WordPress treats a request whose credentials it cannot use (a wrong
        # password, or an Authorization header the host stripped) as anonymous
        # instead of refusing it; asking who we are turns that into a 401.
        _Caller(client, api, self.site_url).json(
            "GET", "/wp/v2/users/me", params={"context": "edit"}
        )
        return api

    def _discover(self, client: httpx.Client) -> RestApi:
        """Find the REST API: /wp-json/ first, then the ?rest_route= fallback."""
        last: httpx.Response | None = None
        for api in (RestApi(self.site_url, True), RestApi(self.site_url, False)):
            url, params = api.endpoint("/")
            response = _send(client, "GET", url, params=params, site=self.site_url)
            if _is_rest_index(response):
                return api

            status = response.status_code
            if status in (401, 403, 429) or status >= 500:
                raise http_error(
                    response,
                    target=f"WordPress at {self.site_url}",
                    auth_hint=AUTH_HINT,
                )
            last = response

        assert last is not None
        raise _bad_response(
            f"neither {self.site_url}/wp-json/ nor {self.site_url}/?rest_route=/ "
            f"is a WordPress REST API index (last answer: HTTP {last.status_code}, "
            f"{last.headers.get('Content-Type', 'no content type')}: {excerpt(last)}). "
            "Check the site URL and that the REST API is not disabled."
        )


class _Caller:
    """The REST calls of one publish attempt, sharing a client and an API root."""

    def __init__(self, client: httpx.Client, api: RestApi, site_url: str) -> None:
        self.client = client
        self.api = api
        self.site_url = site_url

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request; a timeout or failed connection becomes a JobError."""
        url, query = self.api.endpoint(route, params)
        return _send(
            self.client, method, url, params=query, body=body, site=self.site_url
        )

    def json(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return its JSON answer, or raise the fitting error."""
        response = self.request(method, route, params=params, body=body)
        return self.decode(response, route)

    def decode(self, response: httpx.Response, route: str) -> Any:
        """Return the JSON of a successful answer, or raise the fitting error."""
        if not response.is_success:
            raise http_error(
                response, target=f"WordPress at {self.site_url}", auth_hint=AUTH_HINT
            )
        try:
            return response.json()
        except ValueError as exc:
            raise _bad_response(
                f"{route} answered with "
                f"{response.headers.get('Content-Type', 'no content type')} instead "
                f"of JSON: {excerpt(response)}"
            ) from exc

    def find_own_post(self, article: ArticleToPublish) -> int | None:
        """Return the id of the post an earlier attempt made for this article."""
        marker = ownership_marker(article.idempotency_key)
        # By slug first (cheap, indexed); then by the marker, because WordPress
        # gives a published post a new slug when a person's post has ours.
        lookups = (
            {"slug": article.slug},
            {"search": _marker_token(article.idempotency_key)},
        )

        for lookup in lookups:
            params = {**lookup, "status": "any", "context": "edit", "per_page": "100"}
            posts = _as_list(self.json("GET", "/wp/v2/posts", params=params), "posts")
            for item in posts:
                post = _as_dict(item, "post")
                content = post.get("content")
                raw = content.get("raw") if isinstance(content, dict) else None
                if isinstance(raw, str) and marker in raw:
                    return _id(post, "post")
        return None

    def term_ids(self, route: str, names: Iterable[str]) -> list[int]:
        """Return the ids of the named terms, creating those that do not exist."""
        wanted = dict.fromkeys(name.strip() for name in names if name.strip())
        return [self._term_id(route, name) for name in wanted]

    def _term_id(self, route: str, name: str) -> int:
        """Return the id of the term called ``name``, creating it if missing."""
        params = {"search": name, "per_page": "100"}
        for term in _as_list(self.json("GET", route, params=params), route):
            term = _as_dict(term, route)
            # WordPress compares term names case-insensitively and returns
            # them HTML-escaped ("Food &amp; Drink").
            if html.unescape(str(term.get("name", ""))).casefold() == name.casefold():
                return _id(term, route)

        response = self.request("POST", route, body={"name": name})
        if response.status_code == 400:
            # Another attempt may have created it since the search.
            existing = _term_exists_id(response)
            if existing is not None:
                return existing
        return _id(_as_dict(self.decode(response, route), route), route)


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, str],
    site: str,
    body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    """Send a request; a timeout or failed connection becomes a JobError."""
    try:
        return client.request(method, url, params=params, json=body)
    except httpx.TransportError as exc:
        raise transport_error(exc, target=f"WordPress at {site}") from exc


def _is_rest_index(response: httpx.Response) -> bool:
    """Tell whether ``response`` is the REST API index listing ``wp/v2``."""
    if not response.is_success:
        return False
    try:
        index = response.json()
    except ValueError:
        return False
    return isinstance(index, dict) and "wp/v2" in (index.get("namespaces") or [])


def _term_exists_id(response: httpx.Response) -> int | None:
    """Return the id WordPress names in a ``term_exists`` error, if it is one."""
    try:
        error = response.json()
    except ValueError:
        return None
    if not isinstance(error, dict) or error.get("code") != "term_exists":
        return None
    data = error.get("data")
    if not isinstance(data, dict) or "term_id" not in data:
        return None
    return _id(data, "term_exists", key="term_id")


def _id(item: dict[str, Any], what: str, *, key: str = "id") -> int:
    """Return the numeric id WordPress put in ``item``."""
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad_response(f"{what} has no numeric {key}: {value!r:.50}")
    try:
        return int(value)
    except ValueError as exc:
        raise _bad_response(f"{what} has no numeric {key}: {value!r:.50}") from exc


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else raise publish_bad_response."""
    if not isinstance(value, dict):
        raise _bad_response(f"expected a JSON object for {what}, got {value!r:.100}")
    return value


def _as_list(value: Any, what: str) -> list[Any]:
    """Return ``value`` if it is a JSON array, else raise publish_bad_response."""
    if not isinstance(value, list):
        raise _bad_response(f"expected a JSON list for {what}, got {value!r:.100}")
    return value


def _bad_response(detail: str) -> JobError:
    """Return the error for an answer that is not what WordPress sends."""
    return JobError(
        "publish_bad_response", f"Unexpected answer from WordPress: {detail}."
    )
