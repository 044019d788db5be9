"""Finding a date phrase in a message and resolving it in the user's time zone.

``find_when(text, now)`` looks for one date phrase ("tomorrow at 5pm", "due friday",
"next monday", "this week", "in 3 days", "march 5", "2026-12-01") and returns where it is in
the text and what it means as a :class:`When`. Days are turned into datetimes by
``dateparser`` relative to ``now`` (aware, already in the user's zone); the week and
weekend phrases are computed here because their meaning is ours to define.

Conventions:

- A phrase naming a day without a time ("friday", "tomorrow") means the **end of that day**,
  23:59 local time, as a due moment ("due friday" = before Friday is over).
- "tonight" without a time means 20:00 today.
- "this week" runs until the end of Sunday (Monday 00:00 exclusive); "next week" is the
  following Monday to Sunday; "this weekend" is Saturday and Sunday.
- A weekday, bare or with "next" ("friday", "next monday"), is the first such day after
  today: on a Friday, "friday" is a week away; "this friday" is today.
- A time alone ("at 5pm") is today's if still ahead, else tomorrow's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from dateparser.date import DateDataParser

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
_TIME = r"(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}|noon|midnight)"
_DAY = (
    r"(?:today|tonight|tomorrow|tmrw|tmr|the\s+day\s+after\s+tomorrow|day\s+after\s+tomorrow"
    rf"|(?:this|next)\s+{_WEEKDAY}|{_WEEKDAY}"
    r"|in\s+(?:\d+|a|an|one|two|three)\s+(?:minutes?|mins?|hours?|days?|weeks?)"
    rf"|{_MONTH}\s+{_ORDINAL}|{_ORDINAL}\s+(?:of\s+)?{_MONTH}|\d{{4}}-\d{{2}}-\d{{2}})"
)
_PERIOD = r"(?:this\s+week|next\s+week|(?:the\s+)?end\s+of\s+(?:the|this)\s+week|this\s+weekend)"
_LEAD = r"(?:due\s+(?:on\s+|by\s+|before\s+)?|by\s+|before\s+|until\s+|till\s+|on\s+|for\s+)"
# "at 9" is an hour too, 09:00 (0-23; a bare "9" is not a time, nor is "at 9.15").
AT_HOUR = r"at\s+(?:[01]?\d|2[0-3])(?![\w:.])"
_AT_TIME = rf"(?:(?:at\s+|@\s*)?{_TIME}|{AT_HOUR})"

# A period, or a day with an optional time (either order), or a time alone.
_WHEN = re.compile(
    rf"\b(?P<lead>{_LEAD})?"
    rf"(?P<phrase>{_PERIOD}"
    rf"|{_DAY}(?:\s*,?\s*{_AT_TIME})?"
    rf"|{_AT_TIME}(?:\s+(?:on\s+)?{_DAY})?)"
    r"(?![\w:])",
    re.IGNORECASE,
)
_OPEN_START_LEADS = ("by", "before", "until", "till", "due by", "due before")
_WORD_NUMBERS = {"a": "1", "an": "1", "one": "1", "two": "2", "three": "3"}


@dataclass(frozen=True)
class When:
    """A date phrase resolved in the user's zone.

    ``at`` is the due moment a task gets; ``start``/``end`` (end exclusive) the period named,
    used to narrow a listing. ``open_start`` is true for "by friday", "this week": anything
    due before the end counts, overdue included.
    """

    at: datetime
    start: datetime
    end: datetime
    open_start: bool
    span: tuple[int, int]  # where the phrase (with its "due"/"by"/"on") is in the text


def find_when(text: str, now: datetime) -> When | None:
    """The first date phrase in ``text`` resolved relative to ``now``, or None."""
    for match in _WHEN.finditer(text):
        phrase = " ".join(match.group("phrase").lower().split())
        lead = " ".join((match.group("lead") or "").lower().split())
        # A bare weekday inside a sentence is often part of a title ("prepare monday
        # meeting"); only take it with a lead word or at the end of the text.
        bare_weekday = phrase in WEEKDAYS and not lead
        if bare_weekday and text[match.end() :].strip(" ,.!?"):
            continue
        when = _resolve(phrase, now, open_start=lead in _OPEN_START_LEADS, span=match.span())
        if when is not None:
            return when
    return None


def _resolve(phrase: str, now: datetime, *, open_start: bool, span: tuple[int, int]) -> When | None:
    today = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    monday = today - timedelta(days=today.weekday())
    if phrase in ("this week", "end of the week", "the end of the week", "end of this week"):
        end = monday + timedelta(days=7)
        return When(end - timedelta(minutes=1), today, end, True, span)
    if phrase == "next week":
        start = monday + timedelta(days=7)
        end = start + timedelta(days=7)
        return When(end - timedelta(minutes=1), start, end, open_start, span)
    if phrase == "this weekend":
        start = max(today, monday + timedelta(days=5))
        end = monday + timedelta(days=7)
        return When(end - timedelta(minutes=1), start, end, open_start, span)

    text = _for_dateparser(phrase)
    data = _parser(now).get_date_data(text)
    if data.date_obj is None:
        return None
    moment = data.date_obj.replace(tzinfo=now.tzinfo)
    day = datetime.combine(moment.date(), time(0), tzinfo=now.tzinfo)
    if data.period != "time":  # a day without a time: the end of that day
        moment = day + timedelta(days=1, minutes=-1)
        if phrase.startswith("tonight"):
            moment = day.replace(hour=20)
    return When(moment, day, day + timedelta(days=1), open_start, span)


def _for_dateparser(phrase: str) -> str:
    """Rewrite the few words dateparser does not know."""
    phrase = re.sub(r"\b(tmrw|tmr)\b", "tomorrow", phrase)
    phrase = re.sub(r"\bthe day after tomorrow\b", "day after tomorrow", phrase)
    phrase = re.sub(r"\btonight\b", "today", phrase)
    phrase = re.sub(r"\bmins?\b", "minutes", phrase)
    phrase = re.sub(r"@\s*", "at ", phrase)
    phrase = re.sub(r"\bat (\d{1,2})$", r"at \1:00", phrase)  # "at 9": an hour
    return re.sub(
        r"\bin (a|an|one|two|three)\b", lambda m: f"in {_WORD_NUMBERS[m.group(1)]}", phrase
    )


def _parser(now: datetime) -> DateDataParser:
    """A parser relative to ``now``'s wall-clock time (building one is cheap)."""
    return DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None, microsecond=0),
            "PREFER_DATES_FROM": "future",
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
