"""The offline assistant's repeat phrases: the rule, the first occurrence, the words left."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.chat.offline.repeats import find_repeat, without

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=BERLIN)  # a Wednesday morning


def at(month: int, day: int, hour: int = 23, minute: int = 59, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "rule", "first", "rest"),
    [
        ("remind me every monday at 9am to water the plants", "FREQ=WEEKLY;BYDAY=MO",
         at(12, 7, 9, 0), "remind me to water the plants"),
        ("add pay rent every month on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1",
         at(1, 1, year=2027), "add pay rent"),
        ("standup every weekday at 8:30", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
         at(12, 3, 8, 30), "standup"),
        ("review budget every 2 weeks", "FREQ=WEEKLY;INTERVAL=2", at(12, 2), "review budget"),
        ("stretch daily", "FREQ=DAILY", at(12, 2), "stretch"),
        ("every other day take vitamins", "FREQ=DAILY;INTERVAL=2", at(12, 2), "take vitamins"),
        ("call grandma on sundays", "FREQ=WEEKLY;BYDAY=SU", at(12, 6), "call grandma"),
        ("gym mondays, wednesdays and fridays at 7am", "FREQ=WEEKLY;BYDAY=MO,WE,FR",
         at(12, 4, 7, 0), "gym"),
        ("team lunch every tuesday and thursday at noon", "FREQ=WEEKLY;BYDAY=TU,TH",
         at(12, 3, 12, 0), "team lunch"),
        ("pay the card on the last friday of every month", "FREQ=MONTHLY;BYDAY=-1FR",
         at(12, 25), "pay the card"),
        ("backup monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1", at(12, 31), "backup"),
        ("file taxes yearly on april 15", "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=15",
         at(4, 15, year=2027), "file taxes"),
        ("renew insurance every year on the 3rd of march", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3",
         at(3, 3, year=2027), "renew insurance"),
        ("water plants weekly", "FREQ=WEEKLY", at(12, 2), "water plants"),
        ("biweekly sync at 14:00", "FREQ=WEEKLY;INTERVAL=2", at(12, 2, 14, 0), "sync"),
        # A bare hour is that hour, as "tomorrow at 9" is 09:00.
        ("gym every monday at 9", "FREQ=WEEKLY;BYDAY=MO", at(12, 7, 9, 0), "gym"),
        ("standup every weekday at 8", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", at(12, 3, 8, 0),
         "standup"),
        ("review every 2 weeks @ 14:00", "FREQ=WEEKLY;INTERVAL=2", at(12, 2, 14, 0), "review"),
        ("gym every tuesday at 24", "FREQ=WEEKLY;BYDAY=TU", at(12, 8), "gym at 24"),  # no hour 24
    ],
)  # fmt: skip
def test_a_repeat_phrase_is_a_rule_and_its_first_occurrence(
    text: str, rule: str, first: datetime, rest: str
) -> None:
    found = find_repeat(text, NOW)
    assert found is not None
    assert (found.rule, found.first, without(text, found)) == (rule, first, rest)


def test_a_time_already_past_today_starts_the_series_at_its_next_occurrence() -> None:
    found = find_repeat("stretch daily at 8am", NOW)  # 10:30 now
    assert found is not None and found.first == at(12, 3, 8, 0)


def test_the_first_occurrence_is_wall_clock_time_in_the_users_zone() -> None:
    # The last Sunday of March 2027 moves Berlin to summer time: still 09:00 local.
    spring = datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN)
    found = find_repeat("every sunday at 9am", spring)
    assert found is not None and found.first == datetime(2027, 3, 28, 9, 0, tzinfo=BERLIN)
    assert found.first.utcoffset().total_seconds() == 2 * 3600  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text", ["buy milk", "meeting tomorrow at 5pm", "every 0 days stretch", "daily-ish report"]
)
def test_no_repeat_is_found_where_none_is_said(text: str) -> None:
    assert find_repeat(text, NOW) is None
