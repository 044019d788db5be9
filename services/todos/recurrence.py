"""Recurrence rules of todos: an RFC 5545 RRULE body, checked, and the occurrences of a series.

A rule is the body of an RRULE (``FREQ=WEEKLY;BYDAY=MO``; an ``RRULE:`` prefix is accepted and
dropped). Supported parts: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY (with an
ordinal such as ``-1FR`` for MONTHLY and YEARLY), BYMONTHDAY, BYMONTH, COUNT and UNTIL (a UTC
date-time ``20270630T000000Z`` or a date ``20270630``, inclusive). Any other part is refused by
name, DTSTART included: the todo's ``due_at`` starts the series.

A series repeats in a time zone's wall-clock time: its occurrences are computed in local time
(with python-dateutil's ``rrule``) and only then converted to UTC, so "every Monday at 09:00
Europe/Berlin" stays at 09:00 in Berlin across daylight-saving changes. A local time that
does not exist (skipped by a spring-forward change) takes the offset from before the change,
landing after the gap, as RFC 5545 says; an ambiguous one takes its first instant.

The series begins at its anchor (the first todo's ``due_at``), which counts as the first
occurrence whether or not it matches the rule (RFC 5545's DTSTART), followed by the rule's
occurrences after it. COUNT counts the whole series; UNTIL ends it. The next occurrence is
looked for at least 100 years past the moment asked about (see ``Series.next_after``); a
series with none that soon is taken to have ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, weekday

MAX_LENGTH = 500
MAX_INTERVAL = 1000
MAX_COUNT = 1000
Frequency = Literal[0, 1, 2, 3]  # dateutil's YEARLY, MONTHLY, WEEKLY, DAILY
FREQUENCIES: dict[str, Frequency] = {
    "DAILY": DAILY,
    "WEEKLY": WEEKLY,
    "MONTHLY": MONTHLY,
    "YEARLY": YEARLY,
}
DAY_NAMES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
SUPPORTED = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL")
# How far past the moment asked about an occurrence is searched for, at least (see
# Series.next_after; farther ones count as none), and how far from now a recurring todo
# may be due (which bounds how long COUNT is counted from a series' start).
HORIZON_YEARS = 100
CYCLE_YEARS = 400
# The longest month of each month number (February in a leap year).
MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_PART_NAME = re.compile(r"[A-Z][A-Z-]{0,19}")
_NUMBER = re.compile(r"[+-]?[0-9]{1,4}")
_BYDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_DATE = re.compile(r"[0-9]{8}")
_UNTIL_UTC = re.compile(r"[0-9]{8}T[0-9]{6}Z")


class RuleError(ValueError):
    """A rule (or zone) that is refused; the message names the part."""


@dataclass(frozen=True)
class Rule:
    text: str  # the rule as stored: upper case, without an RRULE: prefix
    freq: Frequency
    interval: int = 1
    weekdays: tuple[weekday, ...] | None = None
    monthdays: tuple[int, ...] | None = None
    months: tuple[int, ...] | None = None
    count: int | None = None
    until: datetime | date | None = None  # a datetime is UTC; a date is the zone's local day


def parse_rule(text: str) -> Rule:
    """The rule ``text`` checked part by part; :class:`RuleError` names the first bad part."""
    body = text.strip().upper().removeprefix("RRULE:")
    if not body:
        raise RuleError("must not be empty")
    if len(body) > MAX_LENGTH:
        raise RuleError(f"must be at most {MAX_LENGTH} characters")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, equals, value = part.partition("=")
        if not _PART_NAME.fullmatch(name) or not equals:
            raise RuleError(f"{part[:40]!r} is not a NAME=VALUE part")
        if name not in SUPPORTED:
            raise RuleError(f"{name} is not supported")
        if name in parts:
            raise RuleError(f"{name} is given twice")
        parts[name] = value
    if "FREQ" not in parts:
        raise RuleError("FREQ is required")
    freq_name = parts["FREQ"]
    if freq_name not in FREQUENCIES:
        if freq_name in ("HOURLY", "MINUTELY", "SECONDLY"):
            raise RuleError(f"FREQ={freq_name} is not supported")
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    freq = FREQUENCIES[freq_name]
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("COUNT and UNTIL cannot both be given")
    rule = Rule(
        text=body,
        freq=freq,
        interval=_bounded("INTERVAL", parts.get("INTERVAL", "1"), MAX_INTERVAL),
        weekdays=_weekdays(parts["BYDAY"], freq) if "BYDAY" in parts else None,
        monthdays=_monthdays(parts["BYMONTHDAY"], freq) if "BYMONTHDAY" in parts else None,
        months=_numbers("BYMONTH", parts["BYMONTH"], 1, 12) if "BYMONTH" in parts else None,
        count=_bounded("COUNT", parts["COUNT"], MAX_COUNT) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )
    _check_some_day_exists(rule)
    return rule


def _bounded(name: str, value: str, most: int) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise RuleError(f"{name} must be a positive integer")
    if int(value) > most:
        raise RuleError(f"{name} must be at most {most}")
    return int(value)


def _numbers(
    name: str, value: str, low: int, high: int, *, negative: bool = False
) -> tuple[int, ...]:
    """A comma-separated list of integers in low..high (or -high..-low with ``negative``)."""
    found = []
    for item in value.split(","):
        number = int(item) if _NUMBER.fullmatch(item) else 0
        if not (low <= number <= high or (negative and -high <= number <= -low)):
            either = f" or {-high} to {-low}" if negative else ""
            raise RuleError(f"{name} must list whole numbers from {low} to {high}{either}")
        found.append(number)
    return tuple(found)


def _weekdays(value: str, freq: Frequency) -> tuple[weekday, ...]:
    days = []
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if match is None:
            raise RuleError("BYDAY must list days such as MO, TU or, with an ordinal, -1FR")
        ordinal, name = match.groups()
        day = weekday(DAY_NAMES.index(name))
        if ordinal is not None:
            if freq not in (MONTHLY, YEARLY):
                raise RuleError("BYDAY ordinals (such as -1FR) need FREQ=MONTHLY or FREQ=YEARLY")
            most = 5 if freq == MONTHLY else 53
            if not 1 <= abs(int(ordinal)) <= most:
                raise RuleError(f"BYDAY ordinals must be from 1 to {most} or -{most} to -1")
            day = day(int(ordinal))
        days.append(day)
    return tuple(days)


def _monthdays(value: str, freq: Frequency) -> tuple[int, ...]:
    if freq == WEEKLY:
        raise RuleError("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    return _numbers("BYMONTHDAY", value, 1, 31, negative=True)


def _until(value: str) -> datetime | date:
    try:
        if _UNTIL_UTC.fullmatch(value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if _UNTIL_DATE.fullmatch(value):
            return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        pass
    raise RuleError("UNTIL must be a UTC date-time such as 20270630T000000Z or a date 20270630")


def _check_some_day_exists(rule: Rule) -> None:
    """BYMONTHDAY with BYMONTH must name a day some year has: BYMONTH=2;BYMONTHDAY=30 is a
    rule that never happens."""
    if rule.monthdays is None or rule.months is None:
        return
    if not any(abs(day) <= MONTH_LENGTHS[m - 1] for m in rule.months for day in rule.monthdays):
        raise RuleError("BYMONTHDAY names no day of the months in BYMONTH")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (RuleError for a name the zone database does not have)."""
    if name not in _zone_names():
        raise RuleError("must be an IANA time zone name such as Europe/Berlin")
    return ZoneInfo(name)


def check_due(due_at: datetime, now: datetime) -> None:
    """A recurring todo's due date lies within HORIZON_YEARS of ``now`` (RuleError if not)."""
    reach = timedelta(days=365 * HORIZON_YEARS)
    if not now - reach <= due_at <= now + reach:
        raise RuleError(f"must lie within {HORIZON_YEARS} years of now for a recurring todo")


def start_series(rule: Rule, zone: ZoneInfo, start: datetime) -> Series:
    """The series of ``rule`` from ``start``; RuleError when it would have no occurrence."""
    series = Series(rule, zone, start)
    try:
        local_start = series.local_start
    except OverflowError:
        raise RuleError("due_at lies too near the year 1 or 9999 for a recurring todo") from None
    if series.past_until(local_start, start):
        raise RuleError("UNTIL lies before due_at: the series would have no occurrence")
    return series


@dataclass(frozen=True)
class Series:
    """A rule repeating in ``zone`` from ``start``, the series' first occurrence (aware)."""

    rule: Rule
    zone: ZoneInfo
    start: datetime

    @cached_property
    def local_start(self) -> datetime:
        """The start as the zone's wall-clock time, without zone."""
        return self.start.astimezone(self.zone).replace(tzinfo=None)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (aware, in UTC), or None when the
        series ends (COUNT, UNTIL) before one, or has none within the search horizon."""
        counting = self.rule.count is not None
        # COUNT needs every occurrence from the start; without it the search may begin
        # near ``moment`` (see _period_start), so an old series costs no more than a new one.
        begin = self.local_start if counting else self._period_start(moment)
        # dateutil looks for the next occurrence period by period up to the year 9999, so a
        # rule that matches rarely or never could cost seconds. The Gregorian calendar
        # repeats every 400 years exactly (leap days and weekdays included): the search runs
        # shifted by whole cycles so that it reaches 9999 soon after ``moment``.
        last_year = max(begin.year, moment.year)
        cycles = max(0, (MAXYEAR - HORIZON_YEARS - last_year) // CYCLE_YEARS)
        shift = cycles * CYCLE_YEARS
        position = 1  # the start itself
        for shifted in self._rrule(_years_later(begin, shift)):
            candidate = _years_later(shifted, -shift)
            try:
                instant = candidate.replace(tzinfo=self.zone).astimezone(UTC)
            except OverflowError:  # past the last representable instant
                return None
            if instant <= self.start:
                continue
            position += 1
            if counting and position > (self.rule.count or 0):
                return None
            if self.past_until(candidate, instant):
                return None
            if instant > moment:
                return instant
        return None

    def past_until(self, local: datetime, instant: datetime) -> bool:
        until = self.rule.until
        if isinstance(until, datetime):
            return instant > until
        return until is not None and local.date() > until

    def _rrule(self, dtstart: datetime) -> rrule:
        """The rule from ``dtstart`` with what dateutil would take from the series' start
        (time of day; the weekday, day or month a rule without BY parts repeats on) fixed
        to the start's values, so any ``dtstart`` in phase yields the series' occurrences."""
        rule, start = self.rule, self.local_start
        weekdays, monthdays, months = rule.weekdays, rule.monthdays, rule.months
        if weekdays is None and monthdays is None:
            if rule.freq == YEARLY:
                months, monthdays = months or (start.month,), (start.day,)
            elif rule.freq == MONTHLY:
                monthdays = (start.day,)
            elif rule.freq == WEEKLY:
                weekdays = (weekday(start.weekday()),)
        return rrule(
            rule.freq,
            dtstart=dtstart,
            interval=rule.interval,
            wkst=0,
            byweekday=weekdays,
            bymonthday=monthdays,
            bymonth=months,
            byhour=start.hour,
            byminute=start.minute,
            bysecond=start.second,
        )

    def _period_start(self, moment: datetime) -> datetime:
        """The beginning of the last period of the rule (day, week, month or year, counted
        in steps of INTERVAL from the start) that begins two days or more before ``moment``
        (a margin for the zone's offset): the rule yields the same occurrences from there as
        from the start."""
        start = self.local_start
        first = start.date()
        target = moment.astimezone(UTC).date()
        if (target - first).days <= 3:
            return start
        target -= timedelta(days=2)
        step, freq = self.rule.interval, self.rule.freq
        if freq == DAILY:
            day = first + timedelta(days=(target - first).days // step * step)
        elif freq == WEEKLY:
            monday = first - timedelta(days=first.weekday())
            weeks = (target - monday).days // 7
            day = monday + timedelta(weeks=weeks // step * step)
        elif freq == MONTHLY:
            months = (target.year - first.year) * 12 + target.month - first.month
            year, month = divmod(first.month - 1 + months // step * step, 12)
            day = date(first.year + year, month + 1, 1)
        else:
            day = date(first.year + (target.year - first.year) // step * step, 1, 1)
        return max(start, datetime.combine(day, time()))


def _years_later(moment: datetime, years: int) -> datetime:
    """``moment`` shifted by whole 400-year cycles: the same day of the week and month."""
    return moment.replace(year=moment.year + years)
