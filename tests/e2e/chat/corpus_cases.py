"""What a case of the offline engine's corpus is (``corpus.py`` gathers them): one
conversation of a fresh user: the todos created first through the todos API (numbered 1, 2,
... in that order), then the messages, each with the tool calls it must make (name and the
arguments that matter, in order; no other call) and what must be true of the todos
afterwards. Dates are checked in the case's zone (sent as ``X-Timezone``), relative to the
moment the test runs. Also the builders the cases are written with, and the setups several
share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ZONE = "America/New_York"


@dataclass(frozen=True)
class Due:
    """A moment relative to the test's "now" in the case's zone: ``days`` after today at ``clock``.

    ``weekday`` instead names the first such day strictly after today ("friday",
    "next monday"); ``hour_today`` is "at 3pm": today if still ahead, else tomorrow.
    """

    days: int = 0
    clock: time = time(23, 59)
    weekday: int | None = None
    hour_today: bool = False

    def resolve(self, now: datetime) -> datetime:
        today = now.date()
        if self.weekday is not None:
            day = today + timedelta(days=(self.weekday - today.weekday()) % 7 or 7)
        else:
            day = today + timedelta(days=self.days)
        moment = datetime.combine(day, self.clock, tzinfo=now.tzinfo)
        if self.hour_today and moment <= now:
            moment += timedelta(days=1)
        return moment


END_OF_WEEK = "end of week"  # next Monday 00:00: "this week" runs until the end of Sunday
MONDAY, FRIDAY = 0, 4


@dataclass(frozen=True)
class Todo:
    """A todo created before the conversation (through ``POST /api/v1/todos``)."""

    title: str
    status: str = "pending"
    priority: str | None = None
    due: Due | None = None
    tags: tuple[str, ...] = ()
    recurrence: str | None = None  # a repeating todo (needs ``due``)


@dataclass(frozen=True)
class Call:
    """An expected tool call: its name, the arguments that matter, and parts of its result."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    message: str
    calls: tuple[Call, ...] = ()
    # A piece of the reply text (case-insensitive), or several, when it matters.
    reply_has: str | tuple[str, ...] = ""


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    setup: tuple[Todo, ...] = ()
    # After the last step: title -> fields the todo must have; titles that must be gone.
    todos: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: tuple[str, ...] = ()
    zone: str = ZONE  # the user's time zone (X-Timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def one(message: str, *calls: Call, reply_has: str | tuple[str, ...] = "") -> tuple[Step, ...]:
    return (Step(message, calls, reply_has),)


def add(title: str, **arguments: Any) -> Call:
    return Call("add_task", {"title": title, **arguments}, {"status": "created"})


def number(tool: str, n: int, status: str | None = None) -> Call:
    return Call(tool, {"task_id": n}, {"status": status} if status else {})


def find(query: str, status: str = "all") -> Call:
    return Call("find_tasks", {"query": query, "status": status})


def listing(count: int, **arguments: Any) -> Call:
    return Call("list_tasks", arguments, {"count": count})


HELP_TEXT = "add a task to buy groceries"
THREE = (Todo("Buy groceries"), Todo("Pay bills"), Todo("Call mom"))
MEETINGS = (Todo("Team meeting"), Todo("Meeting notes"), Todo("Buy groceries"))
MIXED = (
    Todo("Buy groceries", priority="high", tags=("home",)),
    Todo("Pay bills", status="completed"),
    Todo("Write report", due=Due(days=0), tags=("work",)),
    Todo("Plan holiday", due=Due(days=9)),
    Todo("Renew passport", priority="urgent", due=Due(days=-2)),
)
# One task due each of: today, tomorrow, in nine days, two days ago.
DAYS = (
    Todo("Write report", due=Due(days=0)),
    Todo("Call the bank", due=Due(days=1, clock=time(10))),
    Todo("Plan holiday", due=Due(days=9)),
    Todo("Renew passport", due=Due(days=-2)),
)
TODAY = {"due_after": Due(days=0, clock=time(0)), "due_before": Due(days=1, clock=time(0))}
TOMORROW = {"due_after": Due(days=1, clock=time(0)), "due_before": Due(days=2, clock=time(0))}
