"""All configuration in one place: environment (``AUTOPILOT_*``) and ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from autopilot.errors import ConfigError


class Settings(BaseSettings):
    """Autopilot's settings; every field is also ``AUTOPILOT_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOPILOT_", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(
        Path("autopilot-data"), description="Where the SQLite file and output live."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL; default a SQLite file in the data directory."
    )
    heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a worker renews the leases of its jobs."
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="How long a job stays a worker's without a heartbeat."
    )
    generating_timeout_seconds: float = Field(
        900.0, gt=0, description="Longest a run may stay in the generating stage."
    )
    publishing_timeout_seconds: float = Field(
        300.0, gt=0, description="Longest a run may stay in the publishing stage."
    )
    max_attempts: int = Field(
        3, ge=1, le=100, description="Attempts a job gets before it fails for good."
    )
    reap_interval_seconds: float = Field(
        5.0, gt=0, description="How often every worker recovers lost and hung jobs."
    )
    poll_seconds: float = Field(
        1.0, gt=0, description="Longest an idle worker waits before it looks again."
    )
    shutdown_grace_seconds: float = Field(
        10.0, ge=0, description="How long a stopping worker lets running jobs finish."
    )
    retry_base_seconds: float = Field(
        10.0, ge=0, description="First retry delay; doubles with every attempt."
    )
    retry_max_seconds: float = Field(
        600.0, ge=0, description="Longest delay between two attempts."
    )
    secret_key: str = Field(
        "", description="Key for secrets at rest and session cookies."
    )
    allow_private_targets: bool = Field(
        False, description="Allow site and model URLs on private addresses."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as plain text or as JSON objects."
    )
    log_level: str = Field("INFO", description="Lowest level of log line to write.")
    cookie_secure: bool = Field(
        False, description="Send the session cookie over HTTPS only (behind TLS)."
    )
    session_max_age_seconds: int = Field(
        14 * 86_400, gt=0, description="How long a portal login stays valid."
    )
    events_poll_seconds: float = Field(
        0.25,
        gt=0,
        description="How often the portal's event reader looks for new job events "
        "when nothing wakes it (SQLite with a worker in another process).",
    )

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> Settings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError(
                "AUTOPILOT_HEARTBEAT_SECONDS must be smaller than "
                "AUTOPILOT_LEASE_SECONDS, or every lease would run out between "
                "two heartbeats"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``autopilot.db`` in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'autopilot.db').resolve()}"

    def stage_timeouts(self) -> dict[str, float]:
        """Deadlines of the autopilot run's stages, by stage name."""
        return {
            "generating": self.generating_timeout_seconds,
            "publishing": self.publishing_timeout_seconds,
        }


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, wrapping validation errors once."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"Invalid configuration: {exc}") from exc
