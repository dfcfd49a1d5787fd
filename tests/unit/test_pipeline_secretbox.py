"""Secrets at rest: sealed with AUTOPILOT_SECRET_KEY, opened only with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import make_settings

from autopilot.errors import ConfigError
from autopilot.pipeline.secretbox import SecretBox, create_demo_key, secret_key


def test_sealed_secret_opens_with_the_same_key() -> None:
    """seal then open gives back the secret; the sealed text does not show it."""
    box = SecretBox("a-long-random-key")

    sealed = box.seal("app-password 1234")

    assert "app-password" not in sealed
    assert SecretBox("a-long-random-key").open(sealed) == "app-password 1234"


def test_sealing_twice_gives_different_text() -> None:
    """Each seal is randomised, so equal secrets are not recognisable."""
    box = SecretBox("key")

    assert box.seal("same") != box.seal("same")


def test_wrong_key_says_which_setting_to_fix() -> None:
    """Opening with another key names AUTOPILOT_SECRET_KEY and what to do."""
    sealed = SecretBox("the-right-key").seal("webhook-secret")

    with pytest.raises(ConfigError) as caught:
        SecretBox("a-wrong-key").open(sealed)

    message = caught.value.message
    assert "AUTOPILOT_SECRET_KEY" in message
    assert "autopilot projects set" in message
    assert "webhook-secret" not in message


def test_open_all_opens_every_secret() -> None:
    """open_all gives every named secret back in plain text."""
    box = SecretBox("k")
    sealed = {"publisher_secret": box.seal("s1"), "writer_api_key": box.seal("s2")}

    assert box.open_all(sealed) == {"publisher_secret": "s1", "writer_api_key": "s2"}


def test_without_any_key_storing_a_secret_is_refused(tmp_path: Path) -> None:
    """No AUTOPILOT_SECRET_KEY and no demo key file: a clear ConfigError."""
    settings = make_settings(tmp_path, secret_key="")

    with pytest.raises(ConfigError, match="AUTOPILOT_SECRET_KEY"):
        SecretBox.from_settings(settings)


def test_demo_key_file_is_used_when_no_key_is_set(tmp_path: Path) -> None:
    """The demo's key file is private to the owner and stands in for the key."""
    settings = make_settings(tmp_path, secret_key="")

    path = create_demo_key(settings)
    again = create_demo_key(settings)

    assert again == path
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key(settings) == path.read_text().strip()
    sealed = SecretBox.from_settings(settings).seal("x")
    assert SecretBox.from_settings(settings).open(sealed) == "x"
