"""People who use Autopilot: users, passwords, API tokens and the login throttle.

Passwords are hashed with Argon2; API tokens are random and stored only as
their SHA-256 (they carry enough entropy that a slow hash adds nothing).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from autopilot.db import Database
from autopilot.errors import AutopilotError, Conflict, InvalidInput, NotFound
from autopilot.models import ApiToken, Client, User

ROLES = ("admin", "client")
LANGUAGES = ("nl", "en")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "apt_"

LOCK_AFTER_FAILURES = 5
"""Failed logins in a row after which an account is locked for a while."""
LOCK_BASE_SECONDS = 30.0
LOCK_MAX_SECONDS = 900.0

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so both answers take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AuthenticationFailed(AutopilotError):
    """Wrong email or password; deliberately does not say which."""

    code = "invalid_credentials"


class LoginThrottled(AutopilotError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    code = "login_throttled"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(
            "Too many failed logins. Wait "
            f"{self.retry_after} seconds before trying again."
        )


@dataclass(frozen=True)
class Account:
    """A signed-in user as the web layer sees it."""

    id: int
    email: str
    role: str
    client_id: int | None
    language: str | None
    password_fingerprint: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def from_user(cls, user: User) -> Account:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            client_id=user.client_id,
            language=user.language,
            password_fingerprint=fingerprint(user.password_hash),
        )


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash; sessions made before a change expire."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or " " in email:
        raise InvalidInput(f"{email!r} is not an email address.")
    return email


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Users -------------------------------------------------------------------


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    client: Client,
    admin: bool = False,
    language: str | None = None,
) -> User:
    """Add a user belonging to ``client``; admins see every client's work."""
    email = normalise_email(email)
    if session.scalar(sa.select(User.id).where(User.email == email)):
        raise Conflict(f"There is already a user {email}.")
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"Language must be one of {', '.join(LANGUAGES)}.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role="admin" if admin else "client",
        client_id=client.id,
        language=language,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> User:
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(
            f"There is no user {email}. Add one with "
            "`autopilot users create EMAIL --client CLIENT`."
        )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.email)))


def set_password(session: Session, email: str, password: str) -> User:
    user = find_user(session, email)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    return user


def get_account(db: Database, user_id: int) -> Account | None:
    with db.read() as conn:
        row = conn.execute(sa.select(User).where(User.id == user_id)).first()
    return _account(row) if row else None


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        role=row.role,
        client_id=row.client_id,
        language=row.language,
        password_fingerprint=fingerprint(row.password_hash),
    )


def set_language(db: Database, user_id: int, language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"Language must be one of {', '.join(LANGUAGES)}.")
    with db.write() as conn:
        conn.execute(
            sa.update(User).where(User.id == user_id).values(language=language)
        )


# Login -------------------------------------------------------------------


def authenticate(db: Database, email: str, password: str) -> Account:
    """Check a login; repeated failures lock the account for a growing while.

    Raises :class:`LoginThrottled` while locked (without checking the
    password) and :class:`AuthenticationFailed` for a wrong email or password.
    """
    try:
        email = normalise_email(email)
    except InvalidInput:
        _verify(_dummy_hash(), password)
        raise AuthenticationFailed("Wrong email or password.") from None

    with db.read() as conn:
        row = conn.execute(
            sa.select(
                User.id,
                User.password_hash,
                User.failed_logins,
                User.locked_until,
                db.now().label("now"),
            ).where(User.email == email)
        ).first()
    if row is None:
        _verify(_dummy_hash(), password)
        raise AuthenticationFailed("Wrong email or password.")

    now: datetime = row.now
    if row.locked_until is not None and row.locked_until > now:
        raise LoginThrottled((row.locked_until - now).total_seconds())

    if not _verify(row.password_hash, password):
        _record_failure(db, row.id, row.failed_logins + 1, now)
        raise AuthenticationFailed("Wrong email or password.")

    with db.write() as conn:
        conn.execute(
            sa.update(User)
            .where(User.id == row.id)
            .values(failed_logins=0, locked_until=None)
        )
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(
                sa.update(User)
                .where(User.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
    account = get_account(db, row.id)
    assert account is not None
    return account


def lock_seconds(failures: int) -> float:
    """How long an account stays locked after ``failures`` failed logins."""
    if failures < LOCK_AFTER_FAILURES:
        return 0.0
    doubling = failures - LOCK_AFTER_FAILURES
    return float(min(LOCK_MAX_SECONDS, LOCK_BASE_SECONDS * 2.0 ** min(doubling, 10)))


def _record_failure(db: Database, user_id: int, failures: int, now: datetime) -> None:
    seconds = lock_seconds(failures)
    locked_until = now + timedelta(seconds=seconds) if seconds else None
    with db.write() as conn:
        conn.execute(
            sa.update(User)
            .where(User.id == user_id)
            .values(failed_logins=User.failed_logins + 1, locked_until=locked_until)
        )


class FailureWindow:
    """Failed logins per source (an IP address) in a sliding window.

    Covers guesses at emails that do not exist, which no account records.
    Kept in memory: a restart forgets it, the per-account lock does not.
    """

    def __init__(self, limit: int = 20, window_seconds: float = 300.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, source: str) -> None:
        """Raise :class:`LoginThrottled` if ``source`` failed too often lately."""
        with self._lock:
            recent = self._recent(source)
            if len(recent) >= self.limit:
                raise LoginThrottled(recent[0] + self.window - time.monotonic())

    def failed(self, source: str) -> None:
        with self._lock:
            self._recent(source).append(time.monotonic())
            if len(self._failures) > 10_000:
                self._failures.clear()

    def _recent(self, source: str) -> deque[float]:
        recent = self._failures.setdefault(source, deque())
        cutoff = time.monotonic() - self.window
        while recent and recent[0] < cutoff:
            recent.popleft()
        return recent


# API tokens --------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str, name: str = "") -> tuple[str, ApiToken]:
    """A new API token for a user; the plain token is shown once, never stored."""
    user = find_user(session, email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name[:100], token_hash=_token_hash(token))
    session.add(record)
    session.flush()
    return token, record


def revoke_token(session: Session, token_id: int) -> None:
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFound(f"There is no API token {token_id}.")
    session.delete(record)


def account_for_token(db: Database, token: str) -> Account | None:
    """The user an API token belongs to, or None for an unknown token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    query = (
        sa.select(
            User,
            ApiToken.id.label("token_id"),
            (
                sa.or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < db.now(-60),
                )
            ).label("stale"),
        )
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _token_hash(token))
    )
    with db.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    if row.stale:
        # At most one write a minute per token, so API reads stay reads.
        with db.write() as conn:
            conn.execute(
                sa.update(ApiToken)
                .where(ApiToken.id == row.token_id)
                .values(last_used_at=db.now())
            )
    return _account(row)
