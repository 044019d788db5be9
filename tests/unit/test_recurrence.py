"""Recurrence rules: what is accepted and refused, and the occurrences of a series in its zone
(daylight-saving changes, short months, COUNT and UNTIL, overdue series)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from services.todos.recurrence import (
    RuleError,
    Series,
    check_due,
    parse_rule,
    start_series,
    time_zone,
)

BERLIN, NEW_YORK, UTC_ZONE = (
    ZoneInfo(name) for name in ("Europe/Berlin", "America/New_York", "UTC")
)


def series(rule: str, start: datetime, zone: ZoneInfo = UTC_ZONE) -> Series:
    return start_series(parse_rule(rule), zone, start)


def occurrences(s: Series, n: int) -> list[datetime]:
    """The first ``n`` occurrences after the start (fewer when the series ends)."""
    found = []
    moment = s.start
    for _ in range(n):
        following = s.next_after(moment)
        if following is None:
            break
        found.append(following)
        moment = following
    return found


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;BYDAY=MO",
        "FREQ=DAILY;INTERVAL=2",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20270630T000000Z",
        "FREQ=YEARLY;COUNT=5",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYDAY=20MO",
        "FREQ=DAILY;INTERVAL=1000;COUNT=1000",
    ],
)
def test_supported_rules_are_kept_as_given(text: str) -> None:
    assert parse_rule(text).text == text


def test_a_rule_is_read_in_any_case_and_an_rrule_prefix_is_dropped() -> None:
    rule = parse_rule(" rrule:freq=monthly;byday=-1fr;count=3 ")
    assert rule.text == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"
    assert rule.count == 3 and rule.weekdays is not None and rule.weekdays[0].n == -1


def test_until_is_a_utc_instant_or_a_date() -> None:
    assert parse_rule("FREQ=DAILY;UNTIL=20270630T120000Z").until == datetime(
        2027, 6, 30, 12, tzinfo=UTC
    )
    assert parse_rule("FREQ=DAILY;UNTIL=20270630").until == date(2027, 6, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must not be empty"),
        ("RRULE:", "must not be empty"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=DAILY;BYMINUTE=30", "BYMINUTE is not supported"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1", "BYSETPOS is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=WEEKLY;WKST=SU", "WKST is not supported"),
        ("DTSTART=20260101T090000Z;FREQ=DAILY", "DTSTART is not supported"),
        ("FREQ=DAILY;X-NAME=1", "X-NAME is not supported"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not supported"),
        ("FREQ=SOMETIMES", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        ("FREQ=DAILY;", "is not a NAME=VALUE part"),
        ("FREQ=DAILY;;COUNT=2", "is not a NAME=VALUE part"),
        ("FREQ", "is not a NAME=VALUE part"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a positive integer"),
        ("FREQ=DAILY;INTERVAL=-2", "INTERVAL must be a positive integer"),
        ("FREQ=DAILY;INTERVAL=two", "INTERVAL must be a positive integer"),
        ("FREQ=DAILY;INTERVAL=", "INTERVAL must be a positive integer"),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be at most 1000"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a positive integer"),
        ("FREQ=DAILY;COUNT=1001", "COUNT must be at most 1000"),
        ("FREQ=DAILY;COUNT=99999999999", "COUNT must be at most 1000"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT and UNTIL cannot both be given"),
        ("FREQ=WEEKLY;BYDAY=MON", "BYDAY must list days"),
        ("FREQ=WEEKLY;BYDAY=", "BYDAY must list days"),
        ("FREQ=WEEKLY;BYDAY=-1FR", "BYDAY ordinals (such as -1FR) need FREQ=MONTHLY"),
        ("FREQ=DAILY;BYDAY=2MO", "BYDAY ordinals (such as -1FR) need FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY ordinals must be from 1 to 5"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY ordinals must be from 1 to 5"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY ordinals must be from 1 to 53"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY must list whole numbers from 1 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY must list whole numbers"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,,2", "BYMONTHDAY must list whole numbers"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH must list whole numbers from 1 to 12"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH must list whole numbers from 1 to 12"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30,31", "BYMONTHDAY names no day of the months"),
        ("FREQ=DAILY;UNTIL=2027-06-30", "UNTIL must be a UTC date-time"),
        ("FREQ=DAILY;UNTIL=20270630T000000", "UNTIL must be a UTC date-time"),  # floating
        ("FREQ=DAILY;UNTIL=20271340", "UNTIL must be a UTC date-time"),
        ("FREQ=DAILY;BYDAY=MO TU", "BYDAY must list days"),
    ],
)
def test_unsupported_or_malformed_rules_are_refused_naming_the_part(
    text: str, message: str
) -> None:
    with pytest.raises(RuleError) as refused:
        parse_rule(text)
    assert message in str(refused.value)


def test_a_rule_longer_than_500_characters_is_refused() -> None:
    with pytest.raises(RuleError, match="at most 500"):
        parse_rule("FREQ=WEEKLY;BYDAY=" + ",".join(["MO"] * 200))


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_iana_zones_are_known(name: str) -> None:
    assert time_zone(name).key == name


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "../etc/passwd", "", "CEST+2"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(RuleError, match="IANA time zone"):
        time_zone(name)


def test_a_series_whose_until_precedes_its_start_is_refused() -> None:
    with pytest.raises(RuleError, match="UNTIL lies before due_at"):
        series("FREQ=DAILY;UNTIL=20300101T000000Z", datetime(2030, 1, 2, tzinfo=UTC))


# --- daylight-saving changes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "monday", "utc_before", "utc_after"),
    [
        # Europe/Berlin: CET -> CEST on the last Sunday of March, back on that of October.
        (BERLIN, datetime(2026, 3, 23, 9), 8, 7),
        (BERLIN, datetime(2026, 10, 19, 9), 7, 8),
        # America/New_York: EST -> EDT on March's second Sunday, back on November's first.
        (NEW_YORK, datetime(2026, 3, 2, 9), 14, 13),
        (NEW_YORK, datetime(2026, 10, 26, 9), 13, 14),
    ],
)
def test_a_weekly_task_stays_at_its_local_time_across_a_dst_change(
    zone: ZoneInfo, monday: datetime, utc_before: int, utc_after: int
) -> None:
    start = monday.replace(tzinfo=zone)
    assert start.astimezone(UTC).hour == utc_before
    weekly = series("FREQ=WEEKLY;BYDAY=MO", start, zone)

    following = weekly.next_after(start)

    assert following is not None
    assert following.astimezone(UTC).hour == utc_after
    assert following.astimezone(zone).replace(tzinfo=None) == monday + timedelta(weeks=1)
    later = occurrences(weekly, 6)
    assert all(moment.astimezone(zone).hour == 9 for moment in later)
    assert all(moment.astimezone(zone).weekday() == 0 for moment in later)


def test_a_local_time_skipped_by_the_spring_change_lands_after_the_gap() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: RFC 5545 takes the offset before the gap.
    daily = series("FREQ=DAILY", datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN), BERLIN)
    on_the_change, after_it = occurrences(daily, 2)
    assert on_the_change == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert after_it.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 30, 2, 30)


# --- month ends and ordinals -----------------------------------------------------------


def test_bymonthday_31_skips_the_months_without_a_31st() -> None:
    monthly = series("FREQ=MONTHLY;BYMONTHDAY=31", datetime(2027, 1, 31, 9, tzinfo=UTC))
    assert [moment.date() for moment in occurrences(monthly, 4)] == [
        date(2027, 3, 31),
        date(2027, 5, 31),
        date(2027, 7, 31),
        date(2027, 8, 31),
    ]


def test_the_last_friday_of_each_month() -> None:
    monthly = series("FREQ=MONTHLY;BYDAY=-1FR", datetime(2026, 1, 30, 17, tzinfo=BERLIN), BERLIN)
    found = occurrences(monthly, 3)
    assert [moment.astimezone(BERLIN).date() for moment in found] == [
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]
    assert all(moment.astimezone(BERLIN).hour == 17 for moment in found)


# --- the end of a series ---------------------------------------------------------------


def test_count_counts_the_start_and_ends_the_series() -> None:
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    three = series("FREQ=DAILY;COUNT=3", start)
    assert occurrences(three, 10) == [start + timedelta(days=1), start + timedelta(days=2)]
    assert series("FREQ=DAILY;COUNT=1", start).next_after(start) is None


def test_a_start_off_the_rule_still_counts_as_the_first_occurrence() -> None:
    wednesday = datetime(2030, 1, 2, 9, tzinfo=UTC)
    two = series("FREQ=WEEKLY;BYDAY=MO;COUNT=2", wednesday)
    assert occurrences(two, 5) == [datetime(2030, 1, 7, 9, tzinfo=UTC)]


def test_until_is_inclusive_and_ends_the_series() -> None:
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    at = series("FREQ=DAILY;UNTIL=20300103T090000Z", start)
    assert occurrences(at, 10) == [start + timedelta(days=1), start + timedelta(days=2)]
    # A date UNTIL is a day of the series' zone: 2030-01-02 in New York ends at 05:00Z on the 3rd.
    local = series("FREQ=DAILY;UNTIL=20300102", datetime(2030, 1, 1, 23, tzinfo=NEW_YORK), NEW_YORK)
    assert occurrences(local, 10) == [datetime(2030, 1, 3, 4, tzinfo=UTC)]


def test_a_finished_series_has_no_next_occurrence_however_late_it_is_asked() -> None:
    start = datetime(2020, 1, 1, 9, tzinfo=UTC)
    assert series("FREQ=DAILY;COUNT=10", start).next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None
    until = series("FREQ=WEEKLY;UNTIL=20200301T000000Z", start)
    assert until.next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None


# --- overdue series and long ones ------------------------------------------------------


def test_an_overdue_daily_task_moves_to_the_future_not_to_the_day_after_its_due_date() -> None:
    due = datetime(2026, 11, 20, 9, tzinfo=UTC)
    now = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    daily = series("FREQ=DAILY", due)
    assert daily.next_after(max(due, now)) == datetime(2026, 12, 3, 9, tzinfo=UTC)
    counted = series("FREQ=DAILY;COUNT=100", due)
    assert counted.next_after(max(due, now)) == datetime(2026, 12, 3, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=DAILY;INTERVAL=3", datetime(2001, 5, 17, 6, 45)),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH", datetime(1999, 12, 30, 18, 0)),
        ("FREQ=WEEKLY;INTERVAL=2", datetime(2010, 2, 3, 7, 30)),
        ("FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-1", datetime(1990, 1, 31, 12, 0)),
        ("FREQ=MONTHLY;INTERVAL=7", datetime(2003, 8, 31, 8, 0)),
        ("FREQ=YEARLY", datetime(2024, 2, 29, 9, 0)),
        ("FREQ=YEARLY;INTERVAL=3;BYMONTH=6;BYDAY=1SU", datetime(1980, 6, 1, 10, 0)),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", datetime(2026, 1, 1, 8, 0)),
        ("FREQ=DAILY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29", datetime(2026, 1, 1, 8, 0)),
    ],
)
def test_a_long_series_yields_what_dateutil_yields_from_its_start(
    rule: str, start: datetime
) -> None:
    # Without COUNT the search starts near the moment asked about, not at the series' start.
    moment = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
    expected = rrulestr(rule, dtstart=start).after(moment.replace(tzinfo=None))
    found = series(rule, start.replace(tzinfo=UTC)).next_after(moment)
    assert found == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;INTERVAL=7;BYDAY=MO",  # from a Tuesday: never again
        "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",  # from 2025: never a leap year
        "FREQ=DAILY;COUNT=1000;INTERVAL=7;BYDAY=MO",
    ],
)
def test_a_rule_that_never_matches_again_is_searched_only_so_far(rule: str) -> None:
    # dateutil alone would look for it day by day until the year 9999.
    start = datetime(2025, 2, 25, 9, tzinfo=UTC)  # a Tuesday
    began = time.perf_counter()
    assert series(rule, start).next_after(datetime(2026, 12, 2, tzinfo=UTC)) is None
    assert time.perf_counter() - began < 2


def test_a_recurring_todo_is_due_within_a_hundred_years_of_now() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    check_due(now - timedelta(days=365 * 100), now)
    check_due(now + timedelta(days=365 * 100), now)
    for far in (now - timedelta(days=365 * 101), now + timedelta(days=365 * 101)):
        with pytest.raises(RuleError, match="within 100 years"):
            check_due(far, now)
