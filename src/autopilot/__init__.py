"""Autopilot: a self-hosted service that writes and publishes SEO articles."""

from __future__ import annotations

__version__ = "0.1.0"
