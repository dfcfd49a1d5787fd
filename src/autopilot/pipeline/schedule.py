"""Schedules: when a project's next run is due, in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter

from autopilot.errors import InvalidInput


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Amsterdam."
        ) from None


def check_cron(expression: str) -> str:
    """Validate a five-field cron expression."""
    expression = " ".join(expression.split())
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidInput(
            f"Invalid schedule {expression!r}: use five cron fields, for example "
            "'0 9 * * 1-5' for 09:00 on weekdays."
        )
    return expression


def next_slot(expression: str, timezone: str, after: datetime) -> datetime:
    """The first slot strictly after ``after``, as UTC.

    Cron fields are read as wall-clock time in ``timezone``, so a 09:00 slot
    stays at 09:00 local across daylight-saving changes.
    """
    zone = check_timezone(timezone)
    local = after.astimezone(zone)
    try:
        upcoming = croniter(expression, local).get_next(datetime)
    except CroniterBadCronError as exc:
        raise InvalidInput(f"Invalid schedule {expression!r}: {exc}") from exc
    assert isinstance(upcoming, datetime)
    return upcoming.astimezone(UTC)


def latest_due_slot(
    expression: str, timezone: str, since: datetime, now: datetime
) -> datetime | None:
    """The last slot in (since, now], or None: missed slots collapse into one."""
    slot = next_slot(expression, timezone, since)
    if slot > now:
        return None
    while True:
        following = next_slot(expression, timezone, slot)
        if following > now:
            return slot
        slot = following
