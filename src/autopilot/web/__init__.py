"""The client portal and its JSON API."""

from __future__ import annotations

from autopilot.web.app import create_app

__all__ = ["create_app"]
