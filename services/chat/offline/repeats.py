"""Finding a repeat phrase in a message: "every monday at 9am" -> an RFC 5545 rule.

``find_repeat(text, now)`` looks for one phrase saying how a task repeats ("daily", "every
2 weeks", "every weekday at 8:30", "every month on the 1st", "on the last friday of every
month", "yearly on march 3") and returns the rule body the todos service takes
(``FREQ=WEEKLY;BYDAY=MO``), the series' first occurrence in the user's zone (``now`` is
aware, in that zone) and where the phrase and its time of day are in the text.

As for one-off dates (``dates.py``), a day without a time means the end of that day, 23:59
local time. The first occurrence is the rule's first one from now on, computed with
python-dateutil's ``rrule`` from today at that time of day (a rule naming no weekday or
day of the month repeats on today's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

from dateutil.rrule import rrulestr

from services.chat.offline.dates import AT_HOUR

_DAYS = {
    "monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
    "friday": "FR", "saturday": "SA", "sunday": "SU",
}  # fmt: skip
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_NUMBERS = {"other": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MORE_DAYS = rf"(?:\s*(?:,\s*and|,|and|&)\s*{_WEEKDAY}s?)*"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_COUNT = r"(?P<n>\d{1,3}|other|two|three|four|five|six)"
_NTH = r"(?P<nth>\d{1,2})(?:st|nd|rd|th)?"
_ON_DAY = rf"(?:\s+on\s+(?:the\s+)?(?:{_NTH}|(?P<last>last)\s+(?P<lastday>day|{_WEEKDAY})))?"

# One pattern per shape of phrase, with the rule it means; the first that matches wins.
_SHAPES: tuple[tuple[str, str], ...] = (
    (r"every\s+(?:week\s*day|work\s*day|business\s+day)|on\s+weekdays|weekdays", "WEEKDAYS"),
    (r"every\s+weekend|on\s+weekends|weekends", "WEEKENDS"),
    # "on friday" is one day; "on fridays" and "every friday" repeat.
    (rf"(?:every|each)\s+(?P<days>{_WEEKDAY}s?{_MORE_DAYS})"
     rf"|(?:on\s+)?(?P<plural>{_WEEKDAY}s{_MORE_DAYS})\b", "DAYS"),
    (rf"on\s+the\s+(?:{_NTH}|(?P<last>last)\s+(?P<lastday>day|{_WEEKDAY}))\s+of\s+"
     r"(?:every|each|the)\s+month", "MONTHLY"),
    (rf"(?:every|each)\s+{_COUNT}\s+(?P<unit>day|week|month|year)s?{_ON_DAY}", "EVERY_N"),
    (r"(?:every|each)\s+(?:single\s+)?day|daily|once\s+a\s+day", "DAILY"),
    (r"biweekly|fortnightly|every\s+fortnight", "BIWEEKLY"),
    (rf"(?:every|each)\s+week|weekly|once\s+a\s+week(?:\s+on\s+(?P<day>{_WEEKDAY}))?",
     "WEEKLY"),
    (rf"(?:(?:every|each)\s+month|monthly|once\s+a\s+month){_ON_DAY}", "MONTHLY"),
    (rf"(?:(?:every|each)\s+year|yearly|annually|once\s+a\s+year)"
     rf"(?:\s+on\s+(?P<month>{_MONTH})\s+{_NTH}"
     rf"|\s+on\s+(?:the\s+)?(?P<nth2>\d{{1,2}})(?:st|nd|rd|th)?\s+of\s+(?P<month2>{_MONTH}))?",
     "YEARLY"),
)  # fmt: skip
_REPEAT = [(re.compile(rf"\b(?:{shape})(?![\w-])", re.I), kind) for shape, kind in _SHAPES]
# "at 9" is 09:00, as for a one-off date (``dates.AT_HOUR``).
_TIME = re.compile(
    r"\b(?:at\s+|@\s*)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|pm)\b"
    r"|(?:\bat\s+|@\s*)(?P<hour24>\d{1,2}):(?P<minute24>\d{2})\b"
    rf"|\b(?P<at_hour>{AT_HOUR})"
    r"|\b(?:at\s+)?(?P<word>noon|midnight)\b",
    re.I,
)


@dataclass(frozen=True)
class Repeat:
    rule: str  # an RFC 5545 RRULE body: "FREQ=WEEKLY;BYDAY=MO"
    first: datetime  # the series' first occurrence from now on, aware, in the user's zone
    spans: tuple[tuple[int, int], ...]  # where the phrase and its time of day are in the text


def find_repeat(text: str, now: datetime) -> Repeat | None:
    """The first repeat phrase of ``text`` as a rule, relative to ``now``; None if none."""
    for pattern, kind in _REPEAT:
        match = pattern.search(text)
        if match is None:
            continue
        rule = _rule(kind, match)
        if rule is None:
            continue
        spans = [match.span()]
        at = _time_of_day(text, spans)
        start = datetime.combine(now.date(), at)
        first = rrulestr(rule, dtstart=start).after(now.replace(tzinfo=None), inc=True)
        if first is None:
            return None
        return Repeat(rule, first.replace(tzinfo=now.tzinfo), tuple(sorted(spans)))
    return None


def without(text: str, repeat: Repeat) -> str:
    """``text`` with the repeat phrase and its time of day taken out."""
    for start, end in reversed(repeat.spans):
        text = f"{text[:start]} {text[end:]}"
    return " ".join(text.split())


def _rule(kind: str, match: re.Match[str]) -> str | None:
    found = {k: v for k, v in match.groupdict().items() if v}
    if kind == "WEEKDAYS":
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    if kind == "WEEKENDS":
        return "FREQ=WEEKLY;BYDAY=SA,SU"
    if kind == "DAYS":
        names = re.findall(_WEEKDAY, found.get("days") or found["plural"], re.I)
        days = dict.fromkeys(_DAYS[name.lower()] for name in names)
        return "FREQ=WEEKLY;BYDAY=" + ",".join(days)
    if kind == "DAILY":
        return "FREQ=DAILY"
    if kind == "BIWEEKLY":
        return "FREQ=WEEKLY;INTERVAL=2"
    if kind == "WEEKLY":
        day = found.get("day")
        return "FREQ=WEEKLY" + (f";BYDAY={_DAYS[day.lower()]}" if day else "")
    if kind == "YEARLY":
        month = found.get("month") or found.get("month2")
        day = found.get("nth") or found.get("nth2")
        if month and day and 1 <= int(day) <= 31:
            return f"FREQ=YEARLY;BYMONTH={_MONTHS[month[:3].lower()]};BYMONTHDAY={int(day)}"
        return "FREQ=YEARLY"
    interval = ""
    if kind == "EVERY_N":
        count = found["n"].lower()
        n = _NUMBERS.get(count) or int(count)
        if not 1 <= n <= 1000:
            return None
        interval = f";INTERVAL={n}" if n > 1 else ""
        unit = found["unit"].lower()
        if unit != "month":
            return {"day": "FREQ=DAILY", "week": "FREQ=WEEKLY", "year": "FREQ=YEARLY"}[unit] + (
                interval
            )
    return "FREQ=MONTHLY" + interval + _month_day(found)


def _month_day(found: dict[str, str]) -> str:
    """The day of the month a monthly rule names: "on the 1st", "on the last friday"."""
    if "nth" in found:
        day = int(found["nth"])
        return f";BYMONTHDAY={day}" if 1 <= day <= 31 else ""
    if "last" in found:
        name = found["lastday"].lower()
        return ";BYMONTHDAY=-1" if name == "day" else f";BYDAY=-1{_DAYS[name]}"
    return ""


def _time_of_day(text: str, spans: list[tuple[int, int]]) -> time:
    """The time of day the text gives the series (taken note of in ``spans``); 23:59 if none."""
    match = _TIME.search(text)
    if match is None:
        return time(23, 59)
    spans.append(match.span())
    if match.group("word"):
        return time(12) if match.group("word").lower() == "noon" else time(0)
    if match.group("at_hour"):
        hour, minute = int(match.group("at_hour").split()[-1]), 0
    elif match.group("hour24"):
        hour, minute = int(match.group("hour24")), int(match.group("minute24"))
    else:
        hour, minute = int(match.group("hour")) % 12, int(match.group("minute") or 0)
        hour += 12 if match.group("half").lower() == "pm" else 0
    return time(hour, minute) if hour < 24 and minute < 60 else time(23, 59)
