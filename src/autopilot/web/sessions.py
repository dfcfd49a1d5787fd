"""Signed session cookies and the CSRF token that travels inside them.

The cookie holds the user id, a fingerprint of the password hash (so a
password change ends old sessions) and a random CSRF token. It is signed,
not encrypted: nothing in it is secret from its owner.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "autopilot_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class SessionData:
    """What a session cookie says: who (if anyone) and the CSRF token."""

    csrf: str
    user_id: int | None = None
    fingerprint: str | None = None


class SessionCodec:
    """Signs and reads session cookies with the installation's secret key."""

    def __init__(self, secret: str, *, max_age: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="autopilot.session")
        self.max_age = max_age
        self.secure = secure

    def read(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(COOKIE_NAME)
        if not raw or len(raw) > 4096:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        user_id = data.get("u")
        fp = data.get("f")
        return SessionData(
            csrf=data["c"],
            user_id=user_id if isinstance(user_id, int) else None,
            fingerprint=fp if isinstance(fp, str) else None,
        )

    def write(self, request: Request, response: Response, data: SessionData) -> None:
        payload: dict[str, object] = {"c": data.csrf}
        if data.user_id is not None:
            payload["u"] = data.user_id
            payload["f"] = data.fingerprint
        response.set_cookie(
            COOKIE_NAME,
            self._serializer.dumps(payload),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure or request.url.scheme == "https",
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")


def new_session(
    user_id: int | None = None, fingerprint: str | None = None
) -> SessionData:
    """A fresh session with a new CSRF token (log-in rotates both)."""
    return SessionData(secrets.token_urlsafe(24), user_id, fingerprint)


def tokens_match(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected, given)
