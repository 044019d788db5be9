"""The offline parser over many phrasings: what each message is understood as (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.chat.offline import parse
from services.chat.offline.intents import (
    AddTask,
    ChangeStatus,
    Chat,
    Choose,
    ClearCompleted,
    Intent,
    ListTasks,
    Remind,
    TagTask,
    TaskRef,
    Undo,
    UpdateTask,
)
from services.chat.offline.phrases import iso_duration, word_stem

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=TZ)  # a Friday morning


def at(day: int, hour: int = 23, minute: int = 59, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def number(n: int) -> tuple[TaskRef, ...]:
    return (TaskRef(number=n),)


def name(words: str) -> tuple[TaskRef, ...]:
    return (TaskRef(name=words),)


ADDING: list[tuple[str, Intent]] = [
    ("add a task to buy groceries", AddTask("Buy groceries")),
    ("Add a task to buy groceries.", AddTask("Buy groceries")),
    ("please add buy milk to my list", AddTask("Buy milk")),
    ("create a new task: call the plumber", AddTask("Call the plumber")),
    ("new task buy eggs", AddTask("Buy eggs")),
    ("todo: renew passport", AddTask("Renew passport")),
    ("I need to remember to pay bills", AddTask("Pay bills")),
    ("don't let me forget to water the plants", AddTask("Water the plants")),
    ("remind me to call mom tomorrow at 5pm", AddTask("Call mom", due_at=at(21, 17, 0))),
    ("Tomorrow at 5pm, remind me to call mom", AddTask("Call mom", due_at=at(21, 17, 0))),
    ("remind me to call mom at 5pm tomorrow", AddTask("Call mom", due_at=at(21, 17, 0))),
    (
        "add 'write report' with high priority due friday #work",
        AddTask("Write report", "high", at(27), ("work",)),
    ),
    (
        '#work add "write report" due friday, high priority',
        AddTask("Write report", "high", at(27), ("work",)),
    ),
    ("add pay rent by dec 1st", AddTask("Pay rent", due_at=at(1, month=12))),
    ("add an urgent task to call the bank", AddTask("Call the bank", "urgent")),
    ("add buy cake for the party tonight", AddTask("Buy cake for the party", due_at=at(20, 20, 0))),
    ("add prepare monday meeting notes", AddTask("Prepare monday meeting notes")),
    ("I have to pick up the kids at 3pm", AddTask("Pick up the kids", due_at=at(20, 15, 0))),
    ("add a task to help mom", AddTask("Help mom")),
    ("add get the car done", AddTask("Get the car done")),
    ("remind me to delete old photos", AddTask("Delete old photos")),
    ("I should call the landlord", AddTask("Call the landlord")),
    ("remind me on friday to submit the timesheet", AddTask("Submit the timesheet", due_at=at(27))),
    (
        "add task: email Sarah about the Q3 report !urgent",
        AddTask("Email Sarah about the Q3 report", "urgent"),
    ),
    (
        "add task submit taxes in 3 days #admin",
        AddTask("Submit taxes", due_at=at(23), tags=("admin",)),
    ),
]

LISTING: list[tuple[str, Intent]] = [
    ("show me all my tasks", ListTasks("all", label="tasks")),
    ("list my todos", ListTasks("all", label="tasks")),
    ("hey, what tasks do I have", ListTasks("all", label="tasks")),
    ("tasks", ListTasks("all", label="tasks")),
    ("what's pending?", ListTasks("pending", label="pending tasks")),
    ("What is still left to do", ListTasks("pending", label="pending tasks")),
    ("show open tasks", ListTasks("pending", label="pending tasks")),
    ("what have I completed?", ListTasks("completed", label="completed tasks")),
    ("what did I finish", ListTasks("completed", label="completed tasks")),
    ("show completed tasks", ListTasks("completed", label="completed tasks")),
    ("show high priority tasks", ListTasks("all", "high", label="high priority tasks")),
    ("show me urgent tasks", ListTasks("all", "urgent", label="urgent priority tasks")),
    ("show tasks tagged work", ListTasks("all", tag="work", label="tasks tagged #work")),
    ("list #home tasks", ListTasks("all", tag="home", label="tasks tagged #home")),
    (
        "what's due this week?",
        ListTasks("pending", due_before=at(23, 0, 0), label="pending tasks due this week"),
    ),
    (
        "what do I have to do today",
        ListTasks(
            "pending",
            due_before=at(21, 0, 0),
            due_after=at(20, 0, 0),
            label="pending tasks due today",
        ),
    ),
]

CHANGING: list[tuple[str, Intent]] = [
    ("mark task 3 as complete", ChangeStatus("complete", number(3))),
    ("Mark Task 3 Complete!", ChangeStatus("complete", number(3))),
    ("complete task 3", ChangeStatus("complete", number(3))),
    ("mark task three as done", ChangeStatus("complete", number(3))),
    ("task 3 is done", ChangeStatus("complete", number(3))),
    ("task 3 complete", ChangeStatus("complete", number(3))),
    ("groceries: done", ChangeStatus("complete", name("groceries"))),
    ("check off #3", ChangeStatus("complete", number(3))),
    ("complete tasks 1 and 3", ChangeStatus("complete", (*number(1), *number(3)))),
    ("I finished the groceries one", ChangeStatus("complete", name("groceries"))),
    ("i'm done with the report", ChangeStatus("complete", name("report"))),
    ("mark it done", ChangeStatus("complete", (TaskRef(),))),
    ("reopen task 2", ChangeStatus("reopen", number(2))),
    ("open task 2 again", ChangeStatus("reopen", number(2))),
    ("mark task 2 as not done", ChangeStatus("reopen", number(2))),
    ("task 2 isn't done yet", ChangeStatus("reopen", number(2))),
    ("I didn't finish the report after all", ChangeStatus("reopen", name("report"))),
    ("delete the meeting task", ChangeStatus("delete", name("meeting"))),
    ("remove task 4", ChangeStatus("delete", number(4))),
    ("the meeting task, delete it", ChangeStatus("delete", name("meeting"))),
    ("get rid of the task called dentist", ChangeStatus("delete", name("dentist"))),
    ("delete tasks 2, 4 and 5", ChangeStatus("delete", (*number(2), *number(4), *number(5)))),
    ("restore task 7", ChangeStatus("restore", number(7))),
    ("bring back the meeting task", ChangeStatus("restore", name("meeting"))),
]

UPDATING: list[tuple[str, Intent]] = [
    ("change task 1 to 'Call mom tonight'", UpdateTask(TaskRef(1), title="Call mom tonight")),
    ("rename task 4 to buy oat milk", UpdateTask(TaskRef(4), title="Buy oat milk")),
    (
        "rename the meeting task to Team sync",
        UpdateTask(TaskRef(name="meeting"), title="Team sync"),
    ),
    ("change the title of task 2 to Pay rent", UpdateTask(TaskRef(2), title="Pay rent")),
    ("make task 2 urgent", UpdateTask(TaskRef(2), priority="urgent")),
    ("task 4 should be high priority", UpdateTask(TaskRef(4), priority="high")),
    ("update task 3: call dad instead", UpdateTask(TaskRef(3), title="Call dad")),
    ("mark task 2 as high priority", UpdateTask(TaskRef(2), priority="high")),
    ("set the priority of task 2 to low", UpdateTask(TaskRef(2), priority="low")),
    ("change task 3 to high priority", UpdateTask(TaskRef(3), priority="high")),
    ("prioritize task 6", UpdateTask(TaskRef(6), priority="high")),
    ("move task 5 to next monday", UpdateTask(TaskRef(5), due_at=at(23))),
    ("postpone task 5 until tomorrow 9am", UpdateTask(TaskRef(5), due_at=at(21, 9, 0))),
    ("task 5 is due friday", UpdateTask(TaskRef(5), due_at=at(27))),
    ("change task 3 to friday", UpdateTask(TaskRef(3), due_at=at(27))),
    ("make task 2 due tomorrow", UpdateTask(TaskRef(2), due_at=at(21))),
]

TAGGING: list[tuple[str, Intent]] = [
    ("tag task 3 with #work", TagTask(TaskRef(3), ("work",))),
    ("add #work and #q3 to task 3", TagTask(TaskRef(3), ("work", "q3"))),
    (
        "add tags home and errands to the groceries task",
        TagTask(TaskRef(name="groceries"), ("home", "errands")),
    ),
    ("label the report as work", TagTask(TaskRef(name="report"), ("work",))),
]

CONVERSING: list[tuple[str, Intent]] = [
    ("undo that", Undo()),
    ("undo the delete", Undo()),
    ("Undo!", Undo()),
    ("oops, undo that", Undo()),
    ("bring it back", Undo()),
    ("restore it", Undo()),
    ("2", Choose(number=2)),  # a task number, never a position
    ("task 4", Choose(number=4)),
    ("#4", Choose(number=4)),
    ("the second one", Choose(position=2)),
    ("the 3rd", Choose(position=3)),
    ("the last one", Choose(position=-1)),
    ("what can you do?", Chat("help")),
    ("help", Chat("help")),
    ("hello", Chat("greeting")),
    ("thanks!", Chat("thanks")),
    ("all done", Chat("thanks")),
    ("never mind", Chat("cancel")),
    ("Neither.", Chat("cancel")),
    ("Delete all my tasks", Chat("bulk")),
    ("complete everything", Chat("bulk")),
]


@pytest.mark.parametrize(
    ("text", "expected"), ADDING + LISTING + CHANGING + UPDATING + TAGGING + CONVERSING
)
def test_phrasing_is_understood(text: str, expected: Intent) -> None:
    assert parse(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "asdf qwerty",
        "what is the meaning of life",
        "",
        "   ",
        "blorp the zorp",
        "add",
        "I should not eat cake",
        "make a reservation for dinner",
        "add task 3",
    ],
)
def test_gibberish_is_not_an_action(text: str) -> None:
    assert parse(text, NOW) == Chat("unknown", text)


def test_relative_dates_follow_the_users_zone() -> None:
    # 15:30 UTC on the 20th is already 00:30 on the 21st in Tokyo: "tomorrow" is the 22nd.
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 11, 20, 15, 30, tzinfo=ZoneInfo("UTC")).astimezone(tokyo)
    intent = parse("remind me to stretch tomorrow at 8am", now)
    assert isinstance(intent, AddTask) and intent.due_at is not None
    assert intent.due_at.isoformat() == "2026-11-22T08:00:00+09:00"


@pytest.mark.parametrize(
    "text",
    [
        "clear all completed tasks",
        "Clear completed",
        "delete all completed tasks",
        "remove the done ones",
        "get rid of all finished tasks",
        "clean up my done list",
    ],
)
def test_clearing_the_completed_tasks_is_one_request(text: str) -> None:
    assert parse(text, NOW) == ClearCompleted()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("delete all my tasks", Chat("bulk")),  # everything at once stays refused
        ("remove the completed report task",
         ChangeStatus("delete", (TaskRef(name="completed report"),))),
    ],
)  # fmt: skip
def test_other_deletions_are_not_a_clear(text: str, intent: object) -> None:
    assert parse(text, NOW) == intent


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("bills", "bill"), ("meetings", "meeting"), ("groceries", "grocer"), ("boxes", "box"),
        ("dishes", "dish"), ("called", "call"), ("notes", "note"), ("class", "class"),
        ("status", "status"), ("bus", "bus"), ("mom", "mom"),
    ],
)  # fmt: skip
def test_a_word_stem_is_what_its_forms_share(word: str, stem: str) -> None:
    assert word_stem(word) == stem


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("remind me about task 2 tomorrow at 9", Remind(TaskRef(number=2), at=at(21, 9, 0))),
        ("remind me of the meeting task at 4pm", Remind(TaskRef(name="meeting"), at=at(20, 16, 0))),
        ("remind me 30 minutes before", Remind(TaskRef(), before="PT30M")),
        ("remind me half an hour before it is due", Remind(TaskRef(), before="PT30M")),
        ("remind me a day before", Remind(TaskRef(), before="P1D")),
    ],
)  # fmt: skip
def test_a_reminder_for_a_task(text: str, intent: Remind) -> None:
    assert parse(text, NOW) == intent


def test_a_new_task_may_carry_its_reminder() -> None:
    parsed = parse("add dentist tomorrow at 3pm and remind me 2 hours before", NOW)
    assert parsed == AddTask("Dentist", due_at=at(21, 15, 0), remind_before="PT2H")


@pytest.mark.parametrize(
    ("text", "iso"),
    [("30 minutes", "PT30M"), ("an hour", "PT1H"), ("2 hrs", "PT2H"), ("half an hour", "PT30M"),
     ("3 days", "P3D"), ("a week", "P7D"), ("0 minutes", None), ("5 fortnights", None)],
)  # fmt: skip
def test_a_duration_in_words_is_iso_8601(text: str, iso: str | None) -> None:
    assert iso_duration(text) == iso
