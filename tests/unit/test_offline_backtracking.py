"""No message can make the offline parser's patterns backtrack for long.

The parser runs on the event loop, so one slow regex freezes every request of the process.
Each pattern of every rule (and the helpers the builders use) gets messages made of one
unit repeated up to the parser's length cap, with endings that make a match fail late.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.chat.offline import grammar, parse, phrases
from services.chat.offline.parser import MAX_PARSED, RULES, tidy

NOW = datetime(2026, 3, 6, 10, 0, tzinfo=ZoneInfo("UTC"))
UNITS = (
    "#a ", "a ", "task 1 ", "1, ", "1 and ", "high ", "tomorrow ", "'a' ", ", ", "to ",
    "x-", "at 5pm ", "due ", "with ", "# ", "tagged a ", "#1 ", "no. 1 ", "number 1 ", ".",
)  # fmt: skip
PREFIXES = (
    "",
    "add ",
    "delete tasks ",
    "mark ",
    "change ",
    "tag x with ",
    "add tags ",
    "task 1 is ",
)
ENDINGS = ("", " x", "!", " to")
# Per pattern, for all the messages together: generous (the slowest pattern needs about
# 0.1 s), while a pattern that backtracks exponentially would need hours.
LIMIT_S = 2.0


class _TooSlow(Exception):
    pass


@contextmanager
def _deadline(seconds: float, what: str) -> Iterator[None]:
    def stop(_signum: int, _frame: object) -> None:
        raise _TooSlow(what)

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _messages() -> Iterator[str]:
    for prefix in PREFIXES:
        for unit in UNITS:
            for ending in ENDINGS:
                body = unit * ((MAX_PARSED - len(prefix)) // len(unit))
                # The patterns only ever see tidied text (single spaces, no final "!").
                yield tidy((prefix + body)[: MAX_PARSED - len(ending)] + ending)


def _patterns() -> list[re.Pattern[str]]:
    helpers = [
        value
        for module in (grammar, phrases)
        for value in vars(module).values()
        if isinstance(value, re.Pattern)
    ]
    return [rule.pattern for rule in RULES] + helpers


def test_every_pattern_fails_fast_on_repeated_units() -> None:
    messages = list(_messages())
    for pattern in _patterns():
        with _deadline(LIMIT_S, pattern.pattern):
            for message in messages:
                pattern.search(message)


@pytest.mark.parametrize(
    "message",
    ["add " + "#a " * 40 + "x", "delete tasks " + "1, " * 40 + "x", "add " + "#a " * 5000],
)
def test_a_long_repetitive_message_is_parsed_at_once(message: str) -> None:
    parse("add a task tomorrow", NOW)  # the date library's first call loads its data
    started = time.perf_counter()
    with _deadline(5, message[:40]):
        parse(message, NOW)
    assert time.perf_counter() - started < 1
