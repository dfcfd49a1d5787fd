"""Secrets at rest: publisher passwords and API keys, encrypted with a key
that never lives in the database."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from autopilot.errors import ConfigError
from autopilot.settings import Settings

KEY_FILE = "secret.key"


def _key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def create_demo_key(settings: Settings) -> Path:
    """Make a key file in the data directory, once, for the demo."""
    path = _key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path


def secret_key(settings: Settings) -> str | None:
    """AUTOPILOT_SECRET_KEY, else the demo's key file, else None."""
    if settings.secret_key:
        return settings.secret_key
    path = _key_file(settings)
    if path.exists():
        return path.read_text().strip()
    return None


class SecretBox:
    """Encrypts and decrypts project secrets."""

    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        key = secret_key(settings)
        if key is None:
            raise ConfigError(
                "No secret key: set AUTOPILOT_SECRET_KEY to a long random string "
                '(for example the output of `python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"`) before storing passwords or '
                "API keys."
            )
        return cls(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "A stored secret cannot be decrypted: AUTOPILOT_SECRET_KEY is not "
                "the key it was stored with. Restore that key, or set the secret "
                "again with `autopilot projects set`."
            ) from None

    def open_all(self, sealed: Mapping[str, str]) -> dict[str, str]:
        return {name: self.open(value) for name, value in sealed.items()}
