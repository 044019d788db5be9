"""Offline parser requests about when tasks happen: a repeat at a bare hour, a reminder ahead
of a named task, skipping an occurrence, and what is due on a day or late (pure, no I/O;
the tool calls they make are checked end to end by the corpus)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.chat.offline import parse
from services.chat.offline.intents import AddTask, Intent, ListTasks, Remind, Skip, TaskRef

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=TZ)  # a Friday morning
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def at(day: int, hour: int = 23, minute: int = 59, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def due(day: int, label: str) -> ListTasks:
    return ListTasks("pending", due_before=at(day + 1, 0, 0), due_after=at(day, 0, 0), label=label)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # A bare hour means that hour, as in "tomorrow at 9" (09:00).
        ("standup every weekday at 8",
         AddTask("Standup", due_at=at(23, 8, 0), recurrence=WEEKDAYS)),
        ("add water plants every monday at 9",
         AddTask("Water plants", due_at=at(23, 9, 0), recurrence="FREQ=WEEKLY;BYDAY=MO")),
        ("gym every day at 7", AddTask("Gym", due_at=at(21, 7, 0), recurrence="FREQ=DAILY")),
        ("add call dad at 18 every day", AddTask("Call dad", due_at=at(20, 18, 0),
                                                 recurrence="FREQ=DAILY")),
        ("standup every weekday at 8:30",
         AddTask("Standup", due_at=at(23, 8, 30), recurrence=WEEKDAYS)),
    ],
)  # fmt: skip
def test_a_repeat_at_a_bare_hour_is_due_at_that_hour(text: str, intent: AddTask) -> None:
    assert parse(text, NOW) == intent


def test_a_bare_hour_reads_the_same_with_or_without_a_repeat() -> None:
    once = parse("add stretch tomorrow at 9", NOW)
    series = parse("add stretch every day at 9", NOW)
    assert isinstance(once, AddTask) and isinstance(series, AddTask)
    assert once.due_at == series.due_at == at(21, 9, 0)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("remind me 30 minutes before task 2", Remind(TaskRef(2), before="PT30M")),
        ("remind me about task 2 30 minutes before", Remind(TaskRef(2), before="PT30M")),
        ("remind me 1 hour before task 2", Remind(TaskRef(2), before="PT1H")),
        ("remind me an hour before task 2 is due", Remind(TaskRef(2), before="PT1H")),
        ("remind me 2 days before task 4", Remind(TaskRef(4), before="P2D")),
        ("remind me of task 3 an hour before it's due", Remind(TaskRef(3), before="PT1H")),
        ("remind me half an hour ahead of the meeting task",
         Remind(TaskRef(name="meeting"), before="PT30M")),
        ("remind me about the dentist a day before", Remind(TaskRef(name="dentist"), before="P1D")),
        ("remind me 30 minutes before it", Remind(TaskRef(), before="PT30M")),
    ],
)  # fmt: skip
def test_a_reminder_ahead_of_a_named_task(text: str, intent: Remind) -> None:
    assert parse(text, NOW) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("remind me 30 minutes before the meeting tomorrow at 3pm",
         AddTask("The meeting", due_at=at(21, 15, 0), remind_before="PT30M")),
        ("remind me an hour before dentist on monday at 10",
         AddTask("Dentist", due_at=at(23, 10, 0), remind_before="PT1H")),
        ("remind me 30 minutes ahead of the call tomorrow at 3pm",
         AddTask("The call", due_at=at(21, 15, 0), remind_before="PT30M")),
        ("remind me an hour before the deadline on monday",
         AddTask("The deadline", due_at=at(23), remind_before="PT1H")),
        ("remind me 15 minutes before standup every weekday at 9",
         AddTask("Standup", due_at=at(23, 9, 0), recurrence=WEEKDAYS, remind_before="PT15M")),
    ],
)  # fmt: skip
def test_a_reminder_ahead_of_something_with_a_date_is_a_new_task(
    text: str, intent: AddTask
) -> None:
    assert parse(text, NOW) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("skip the next occurrence of task 3", Skip(TaskRef(3))),
        ("skip the next one of task 3", Skip(TaskRef(3))),
        ("skip next occurrence for the gym task", Skip(TaskRef(name="gym"))),
        ("skip this week's task 3", Skip(TaskRef(3))),
        ("skip task 3's next occurrence", Skip(TaskRef(3))),
        ("skip the next occurrence", Skip(TaskRef())),
        ("skip task 3", Skip(TaskRef(3))),
        ("skip task 3 this week", Skip(TaskRef(3))),
    ],
)
def test_skipping_an_occurrence_names_the_task(text: str, intent: Skip) -> None:
    assert parse(text, NOW) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what do i have tomorrow", due(21, "pending tasks due tomorrow")),
        ("What do I have today?", due(20, "pending tasks due today")),
        ("what have I got planned for tomorrow", due(21, "pending tasks due tomorrow")),
        ("what do I have on monday", due(23, "pending tasks due monday")),
        ("what's on tomorrow", due(21, "pending tasks due tomorrow")),
        ("what is due tomorrow", due(21, "pending tasks due tomorrow")),
        ("what's due today?", due(20, "pending tasks due today")),
    ],
)
def test_what_is_due_on_a_day(text: str, intent: Intent) -> None:
    assert parse(text, NOW) == intent


@pytest.mark.parametrize(
    "text",
    [
        "what's overdue?",
        "what's late",
        "what is late?",
        "anything late?",
        "is anything past due",
        "any tasks late",
        "which tasks are late",
    ],
)
def test_late_tasks_are_the_overdue_ones(text: str) -> None:
    assert parse(text, NOW) == ListTasks("pending", overdue=True, label="overdue tasks")


@pytest.mark.parametrize(
    "text",
    [
        "what do i have to lose",
        "what's on your mind",
        "what if I'm late for the meeting",
        "is anything wrong with task 3",
    ],
)
def test_other_questions_are_not_a_listing(text: str) -> None:
    assert not isinstance(parse(text, NOW), ListTasks)
