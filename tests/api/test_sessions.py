"""Logging in with a session cookie: cookie flags, CSRF, the login throttle,
and the language the portal speaks."""

from __future__ import annotations

import re

import pytest
from api_support import PASSWORD, World
from fastapi.testclient import TestClient

from autopilot import accounts
from autopilot.db import Database

API = "/api/client/autopilot"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _csrf(client.get("/client-portal/autopilot").text)


def test_session_cookie_is_httponly_samesite_lax_and_signed(
    client: TestClient,
) -> None:
    """The cookie cannot be read by scripts nor sent by other sites' posts."""
    response = client.get("/login")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    client.cookies.set("autopilot_session", "forged.value.here")
    assert (
        client.get("/client-portal/autopilot", follow_redirects=False).status_code
        == 303
    )


def test_login_then_portal_then_logout(client: TestClient, world: World) -> None:
    """A right password opens the portal; logging out closes it."""
    anonymous_token = _csrf(client.get("/login").text)
    token = _login(client, world.alice.email)
    assert token != anonymous_token, "logging in must rotate the session"
    page = client.get("/client-portal/autopilot")
    assert page.status_code == 200
    assert "Site A" in page.text
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    after = client.get("/client-portal/autopilot", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, world: World
) -> None:
    """Wrong password and unknown email give the same answer."""
    token = _csrf(client.get("/login").text)
    wrong = client.post(
        "/login",
        data={
            "email": world.alice.email,
            "password": "nope-nope-nope",
            "csrf_token": token,
        },
    )
    unknown = client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "x" * 12, "csrf_token": token},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Onjuist e-mailadres of wachtwoord" in wrong.text


def test_repeated_failures_lock_the_account_for_a_while(
    client: TestClient, world: World
) -> None:
    """After five failures even the right password waits (429, Retry-After)."""
    token = _csrf(client.get("/login").text)
    for _ in range(accounts.LOCK_AFTER_FAILURES):
        client.post(
            "/login",
            data={
                "email": world.alice.email,
                "password": "bad-password-1",
                "csrf_token": token,
            },
        )
    locked = client.post(
        "/login",
        data={"email": world.alice.email, "password": PASSWORD, "csrf_token": token},
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0


def test_many_failures_from_one_address_are_throttled(
    client: TestClient, app: object
) -> None:
    """Guessing at emails that do not exist is throttled per address too."""
    token = _csrf(client.get("/login").text)
    statuses = {
        client.post(
            "/login",
            data={
                "email": f"guess{i}@example.com",
                "password": "x" * 12,
                "csrf_token": token,
            },
        ).status_code
        for i in range(25)
    }
    assert 429 in statuses


def test_login_post_without_the_forms_cookie_is_refused(
    client: TestClient, world: World
) -> None:
    """A login posted from elsewhere (no session cookie) does not log in."""
    response = client.post(
        "/login",
        data={"email": world.alice.email, "password": PASSWORD, "csrf_token": "x"},
        follow_redirects=False,
    )
    assert response.status_code == 400


def test_cookie_writes_need_the_csrf_token(client: TestClient, world: World) -> None:
    """A state change with the cookie but without the token is 403."""
    token = _login(client, world.alice.email)
    body = {"projectId": world.project_a}
    refused = client.post(f"{API}/run", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    wrong = client.post(f"{API}/run", json=body, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    accepted = client.post(f"{API}/run", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 202


def test_cookie_reads_need_no_csrf_token(client: TestClient, world: World) -> None:
    """GET requests with the cookie work without a token."""
    _login(client, world.alice.email)
    assert client.get(f"{API}/projects").status_code == 200


def test_bearer_requests_are_exempt_from_csrf(client: TestClient, world: World) -> None:
    """A script with an API token needs no CSRF token."""
    response = client.post(
        f"{API}/run", json={"projectId": world.project_a}, headers=world.alice.headers
    )
    assert response.status_code == 202


def test_password_change_ends_existing_sessions(
    client: TestClient, world: World, db: Database
) -> None:
    """A new password logs out every browser that used the old one."""
    _login(client, world.alice.email)
    with db.session() as session:
        accounts.set_password(session, world.alice.email, "a brand new password")
    response = client.get("/client-portal/autopilot", follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:x"]
)
def test_login_never_redirects_to_another_site(
    client: TestClient, world: World, target: str
) -> None:
    """The next= parameter only takes local paths."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": world.alice.email,
            "password": PASSWORD,
            "csrf_token": _csrf(page.text),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/client-portal/autopilot"


def test_portal_speaks_dutch_by_default_and_english_when_asked(
    client: TestClient, world: World
) -> None:
    """Dutch first; Accept-Language decides for users without a setting."""
    _login(client, world.alice.email)
    dutch = client.get("/client-portal/autopilot")
    assert "Nu uitvoeren" in dutch.text
    assert '<html lang="nl">' in dutch.text
    english = client.get(
        "/client-portal/autopilot", headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert "Run now" in english.text


def test_users_language_setting_beats_the_browser(
    client: TestClient, world: World
) -> None:
    """A user who chose English gets English even from a Dutch browser."""
    token = _login(client, world.alice.email)
    client.post(
        "/account/language",
        data={
            "language": "en",
            "csrf_token": token,
            "back": "/client-portal/autopilot",
        },
        follow_redirects=False,
    )
    page = client.get("/client-portal/autopilot", headers={"Accept-Language": "nl"})
    assert "Run now" in page.text
