"""Schedules: when a project's next run is due, in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


def _repeated_wall_time(moment: datetime) -> bool:
    """Whether a local time is the second pass through an hour the clock repeats."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def _slots(expression: str, start: datetime) -> croniter:
    try:
        return croniter(expression, start)
    except CroniterBadCronError as exc:
        raise InvalidInput(f"Invalid schedule {expression!r}: {exc}") from exc


def _step(slots: croniter, zone: ZoneInfo, forward: bool) -> datetime:
    """The next (or previous) slot, skipping the repeat of a wall-clock hour.

    Cron fields are wall-clock time, so when autumn repeats an hour a slot in
    it would match twice; it runs once, at the first pass.
    """
    while True:
        slot = slots.get_next(datetime) if forward else slots.get_prev(datetime)
        assert isinstance(slot, datetime)
        if not _repeated_wall_time(slot.astimezone(UTC).astimezone(zone)):
            return slot.astimezone(UTC)


def next_slot(expression: str, timezone: str, after: datetime) -> datetime:
    """The first slot strictly after ``after``, as UTC.

    Cron fields are read as wall-clock time in ``timezone``, so a 09:00 slot
    stays at 09:00 local across daylight-saving changes.
    """
    zone = check_timezone(timezone)
    return _step(_slots(expression, after.astimezone(zone)), zone, forward=True)


def latest_due_slot(
    expression: str, timezone: str, since: datetime, now: datetime
) -> datetime | None:
    """The last slot in (since, now], or None: missed slots collapse into one."""
    zone = check_timezone(timezone)
    # A slot exactly at ``now`` is due, so look back from just after it.
    start = (now + timedelta(seconds=1)).astimezone(zone)
    slot = _step(_slots(expression, start), zone, forward=False)
    return slot if since < slot <= now else None
