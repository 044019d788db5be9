"""Date phrases: where they are in a message and the moment they mean in the user's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.chat.offline.dates import find_when

TZ = ZoneInfo("Europe/Paris")
FRIDAY = datetime(2026, 11, 20, 18, 30, tzinfo=TZ)
SUNDAY = datetime(2026, 11, 22, 9, 0, tzinfo=TZ)


def local(day: int, hour: int = 23, minute: int = 59, month: int = 11, year: int = 2026) -> str:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).isoformat()


@pytest.mark.parametrize(
    ("text", "now", "due"),
    [
        ("tomorrow at 5pm", FRIDAY, local(21, 17, 0)),
        ("tomorrow", FRIDAY, local(21)),  # a day alone: the end of that day
        ("friday", FRIDAY, local(27)),  # a weekday is after today...
        ("this friday", FRIDAY, local(20)),  # ...unless "this" says today
        ("next monday", FRIDAY, local(23)),
        ("next monday", SUNDAY, local(23)),
        ("at 5pm", FRIDAY, local(21, 17, 0)),  # 17:00 has passed: tomorrow's
        ("at 5pm", SUNDAY, local(22, 17, 0)),
        ("tonight", FRIDAY, local(20, 20, 0)),
        ("in 3 days", FRIDAY, local(23)),
        ("dec 1st at 9:30am", FRIDAY, local(1, 9, 30, month=12)),
        ("5th of march", FRIDAY, local(5, month=3, year=2027)),
        ("2027-01-15", FRIDAY, local(15, month=1, year=2027)),
        ("this week", FRIDAY, local(22)),  # until the end of Sunday
        ("this week", SUNDAY, local(22)),
        ("next week", FRIDAY, local(29)),
        ("this weekend", FRIDAY, local(22)),
    ],
)
def test_phrase_means(text: str, now: datetime, due: str) -> None:
    when = find_when(f"pay rent {text}", now)
    assert when is not None
    assert when.at.isoformat() == due
    assert when.span[1] == len(f"pay rent {text}")


def test_periods_for_listings() -> None:
    week = find_when("due this week", FRIDAY)
    assert week is not None and week.open_start  # overdue tasks are due this week too
    assert week.end.isoformat() == local(23, 0, 0)
    today = find_when("due today", FRIDAY)
    assert today is not None and not today.open_start
    assert (today.start.isoformat(), today.end.isoformat()) == (local(20, 0, 0), local(21, 0, 0))
    by = find_when("due by friday", FRIDAY)
    assert by is not None and by.open_start


@pytest.mark.parametrize(
    "text",
    ["prepare monday meeting", "buy 2 apples", "read chapter 5", "plan the march", "may the best"],
)
def test_words_that_are_not_dates(text: str) -> None:
    assert find_when(text, FRIDAY) is None
