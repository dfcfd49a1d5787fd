"""Browser tests drive Debian's Chromium through Playwright against a real
``autopilot serve``; every test owns its server and database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Site, start_site

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def base_url() -> None:
    """Each test has its own server; pytest-base-url's fixture is not used."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any],
) -> dict[str, Any]:
    """Debian's Chromium, quiet: no sandbox (root), no GPU, no network chatter."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI but is not installed")
        pytest.skip(f"{CHROMIUM} is not installed")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A Dutch browser at desktop width, as most clients use the portal."""
    return {
        **browser_context_args,
        "locale": "nl-NL",
        "timezone_id": "Europe/Amsterdam",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Portal with its embedded worker."""
    running = start_site(tmp_path, embedded_worker=True)
    yield running
    running.stop()


@pytest.fixture
def split_site(tmp_path: Path) -> Iterator[Site]:
    """Portal without a worker; the test starts (and kills) one separately."""
    running = start_site(tmp_path, embedded_worker=False)
    yield running
    running.stop()
