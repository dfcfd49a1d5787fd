"""Schedules: cron read as wall-clock time in the project's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from autopilot.errors import InvalidInput
from autopilot.pipeline.schedule import (
    check_cron,
    check_timezone,
    latest_due_slot,
    next_slot,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")


def _daily_slots(timezone: str, after: datetime, days: int) -> list[datetime]:
    slots, cursor = [], after
    for _ in range(days):
        cursor = next_slot("0 9 * * *", timezone, cursor)
        slots.append(cursor)
    return slots


def test_amsterdam_nine_oclock_stays_nine_across_the_spring_change() -> None:
    """Around 2026-03-29 a 09:00 slot moves from 08:00 to 07:00 UTC."""
    slots = _daily_slots("Europe/Amsterdam", datetime(2026, 3, 27, 12, tzinfo=UTC), 3)

    assert slots == [
        datetime(2026, 3, 28, 8, tzinfo=UTC),
        datetime(2026, 3, 29, 7, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
    ]
    assert {s.astimezone(AMSTERDAM).hour for s in slots} == {9}


def test_amsterdam_nine_oclock_stays_nine_across_the_autumn_change() -> None:
    """Around 2026-10-25 a 09:00 slot moves from 07:00 back to 08:00 UTC."""
    slots = _daily_slots("Europe/Amsterdam", datetime(2026, 10, 24, 0, tzinfo=UTC), 2)

    assert slots == [
        datetime(2026, 10, 24, 7, tzinfo=UTC),
        datetime(2026, 10, 25, 8, tzinfo=UTC),
    ]


def test_new_york_nine_oclock_is_nine_on_new_yorks_clock() -> None:
    """'0 9 * * *' in New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    slots = _daily_slots("America/New_York", datetime(2026, 3, 7, 0, tzinfo=UTC), 2)

    assert slots == [
        datetime(2026, 3, 7, 14, tzinfo=UTC),
        datetime(2026, 3, 8, 13, tzinfo=UTC),
    ]
    assert {(s.astimezone(NEW_YORK).hour, s.minute) for s in slots} == {(9, 0)}


def test_next_slot_is_strictly_after_and_in_utc() -> None:
    """A slot exactly at ``after`` is not returned again; the answer is UTC."""
    at_nine = datetime(2026, 6, 1, 9, tzinfo=AMSTERDAM)

    slot = next_slot("0 9 * * *", "Europe/Amsterdam", at_nine)

    assert slot == datetime(2026, 6, 2, 7, tzinfo=UTC)
    assert slot.tzinfo is UTC


def test_latest_due_slot_collapses_missed_slots_into_the_last() -> None:
    """Of many missed hourly slots only the newest is due."""
    since = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
    now = datetime(2026, 5, 3, 17, 42, tzinfo=UTC)

    slot = latest_due_slot("0 * * * *", "UTC", since, now)

    assert slot == datetime(2026, 5, 3, 17, 0, tzinfo=UTC)


def test_latest_due_slot_is_none_until_the_next_slot_arrives() -> None:
    """Nothing is due before the next slot; the slot itself is due at its minute."""
    since = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    tomorrow = since + timedelta(days=1)

    before = latest_due_slot("0 9 * * *", "UTC", since, tomorrow - timedelta(hours=1))
    on_time = latest_due_slot("0 9 * * *", "UTC", since, tomorrow)

    assert before is None
    assert on_time == tomorrow


@pytest.mark.parametrize("expression", ["0 9 * *", "every day", "61 9 * * *", ""])
def test_check_cron_refuses_what_is_not_five_cron_fields(expression: str) -> None:
    """An invalid schedule says how a good one looks."""
    with pytest.raises(InvalidInput, match="five cron fields"):
        check_cron(expression)


def test_check_cron_normalises_spacing() -> None:
    """Extra spaces between fields are tidied away."""
    assert check_cron("  0   9 * *  1-5 ") == "0 9 * * 1-5"


def test_check_timezone_names_a_valid_example() -> None:
    """An unknown zone is refused with an IANA example."""
    with pytest.raises(InvalidInput, match="Europe/Amsterdam"):
        check_timezone("Mars/Olympus_Mons")


def test_slot_in_the_repeated_autumn_hour_runs_once() -> None:
    """A 02:30 daily slot on the night Amsterdam repeats 02:00-03:00 fires once."""
    from datetime import UTC, datetime

    from autopilot.pipeline.schedule import latest_due_slot, next_slot

    first = next_slot(
        "30 2 * * *", "Europe/Amsterdam", datetime(2026, 10, 24, 23, tzinfo=UTC)
    )
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert next_slot("30 2 * * *", "Europe/Amsterdam", first) == datetime(
        2026, 10, 26, 1, 30, tzinfo=UTC
    )
    after_repeat = datetime(2026, 10, 25, 3, 0, tzinfo=UTC)
    assert (
        latest_due_slot("30 2 * * *", "Europe/Amsterdam", first, after_repeat) is None
    )


def test_a_week_of_missed_minute_slots_collapses_to_the_last_one() -> None:
    """After a week of downtime a per-minute schedule yields only its latest slot."""
    from datetime import UTC, datetime

    from autopilot.pipeline.schedule import latest_due_slot

    since = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime(2026, 1, 8, 0, 0, 30, tzinfo=UTC)
    assert latest_due_slot("* * * * *", "UTC", since, now) == datetime(
        2026, 1, 8, tzinfo=UTC
    )
