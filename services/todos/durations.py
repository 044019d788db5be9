"""ISO 8601 durations of reminders (``PT30M``, ``P1D``, ``PT1H30M``, ``P1W``), as whole seconds.

Only parts of a fixed length are accepted: weeks, days, hours, minutes and whole seconds.
Years and months are refused, their length depends on the calendar. A duration is written
back in one canonical form (days, then hours, minutes, seconds: ``P1DT2H``), so ``P1W``
reads back as ``P7D`` and ``PT90M`` as ``PT1H30M``.
"""

from __future__ import annotations

import re

MAX_TEXT_LENGTH = 40
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,9})W)?(?:(?P<days>[0-9]{1,9})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,9})H)?(?:(?P<minutes>[0-9]{1,9})M)?(?:(?P<seconds>[0-9]{1,9})S)?)?"
)
_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class DurationError(ValueError):
    """A duration that is refused; the message says why."""


def parse_duration(text: str) -> int:
    """``text`` (an ISO 8601 duration) in seconds; :class:`DurationError` when it is not one
    of the accepted form."""
    value = text.strip().upper()
    match = _DURATION.fullmatch(value) if len(value) <= MAX_TEXT_LENGTH else None
    if match is None or value in ("P", "PT") or value.endswith("T"):
        if re.fullmatch(r"P[0-9]+[YM].*", value):
            raise DurationError("years and months are not accepted (use weeks or days)")
        raise DurationError("must be an ISO 8601 duration such as PT30M, PT1H30M or P1D")
    return sum(int(amount) * _SECONDS[part] for part, amount in match.groupdict().items() if amount)


def format_duration(seconds: int) -> str:
    """``seconds`` as the canonical ISO 8601 duration (``PT0S`` for zero)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    parts = ((hours, "H"), (minutes, "M"), (secs, "S"))
    time_part = "".join(f"{n}{unit}" for n, unit in parts if n)
    if not date_part and not time_part:
        return "PT0S"
    return f"P{date_part}" + (f"T{time_part}" if time_part else "")
