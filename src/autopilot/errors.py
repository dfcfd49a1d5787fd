"""The exceptions Autopilot raises on purpose, all under one root.

Every message says what happened and, where there is something to do, what to
do next. Driver and HTTP errors are wrapped once, at the edge where they occur.
"""

from __future__ import annotations


class AutopilotError(Exception):
    """Root of every error Autopilot raises on purpose."""

    code = "autopilot_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(AutopilotError):
    """A setting is missing, malformed or unsafe."""

    code = "invalid_config"


class DatabaseError(AutopilotError):
    """The database cannot be reached or is not at the expected schema."""

    code = "database_unavailable"


class NotFound(AutopilotError):
    """The thing asked for does not exist (or is not yours to see)."""

    code = "not_found"


class InvalidInput(AutopilotError):
    """Input was understood but is not acceptable; nothing was changed."""

    code = "invalid_input"


class Conflict(AutopilotError):
    """The request clashes with the current state; nothing was changed."""

    code = "conflict"


class JobError(AutopilotError):
    """A job attempt ended in failure.

    ``code`` is stable and drives retry decisions and translation; ``message``
    says what happened in words a client understands. ``retry_after`` (seconds)
    is a lower bound for the next attempt when the cause said when to retry.
    """

    code = "job_failed"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
        self.retry_after = retry_after
