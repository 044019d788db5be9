"""The offline engine's corpus: renaming, rescheduling, reprioritising and tagging tasks,
and talk that changes nothing."""

from __future__ import annotations

from datetime import time

from tests.e2e.chat.corpus_cases import (
    FRIDAY,
    HELP_TEXT,
    MONDAY,
    THREE,
    Call,
    Case,
    Due,
    Step,
    Todo,
    find,
    listing,
    number,
    one,
)

UPDATING = [
    Case(
        "retitle quoted",
        one(
            "change task 1 to 'Call mom tonight'",
            Call("update_task", {"task_id": 1, "title": "Call mom tonight"}),
        ),
        setup=THREE,
        todos={"Call mom tonight": {}},
        gone=("Buy groceries",),
    ),
    Case(
        "rename",
        one(
            "rename task 1 to buy oat milk",
            Call("update_task", {"task_id": 1, "title": "Buy oat milk"}),
        ),
        setup=THREE,
        todos={"Buy oat milk": {}},
    ),
    Case(
        "make urgent",
        one("make task 2 urgent", Call("update_task", {"task_id": 2, "priority": "urgent"})),
        setup=THREE,
        todos={"Pay bills": {"priority": "urgent"}},
    ),
    Case(
        "priority field",
        one(
            "Set the priority of task 1 to low",
            Call("update_task", {"task_id": 1, "priority": "low"}),
        ),
        setup=THREE,
        todos={"Buy groceries": {"priority": "low"}},
    ),
    Case(
        "clear completed, then undo",
        (
            Step(
                "clear all completed tasks",
                (
                    listing(2, status="completed"),
                    number("delete_task", 1, "deleted"),
                    number("delete_task", 3, "deleted"),
                ),
                reply_has="deleted 2 completed tasks",
            ),
            Step("undo that", (number("restore_task", 1), number("restore_task", 3))),
        ),
        setup=(
            Todo("Buy groceries", status="completed"),
            Todo("Pay bills"),
            Todo("Call mom", status="completed"),
        ),
        todos={"Buy groceries": {"status": "completed"}, "Call mom": {"status": "completed"}},
    ),
    Case(
        "clear completed, in other words",
        one(
            "remove the done ones",
            listing(1, status="completed"),
            number("delete_task", 2, "deleted"),
            reply_has="deleted 1 completed task",
        ),
        setup=(Todo("Buy groceries"), Todo("Pay bills", status="completed")),
        todos={"Buy groceries": {"status": "pending"}},
        gone=("Pay bills",),
    ),
    Case(
        "clear completed with none",
        one("clear completed tasks", listing(0, status="completed"), reply_has="no completed"),
        setup=THREE,
    ),
    Case(
        "a name in another word form",
        one(
            "postpone the bills one to friday",
            find("bills"),
            find("bill"),
            Call("update_task", {"task_id": 2, "due_at": Due(weekday=FRIDAY)}),
        ),
        setup=(Todo("Buy groceries"), Todo("Pay electricity bill"), Todo("Call mom")),
        todos={"Pay electricity bill": {"due_at": Due(weekday=FRIDAY)}},
    ),
    Case(
        "prioritize",
        one("prioritize task 3", Call("update_task", {"task_id": 3, "priority": "high"})),
        setup=THREE,
        todos={"Call mom": {"priority": "high"}},
    ),
    Case(
        "move",
        one(
            "move task 1 to next monday",
            Call("update_task", {"task_id": 1, "due_at": Due(weekday=MONDAY)}),
        ),
        setup=THREE,
        todos={"Buy groceries": {"due_at": Due(weekday=MONDAY)}},
    ),
    Case(
        "postpone with time",
        one(
            "postpone task 2 until tomorrow 9am",
            Call("update_task", {"task_id": 2, "due_at": Due(days=1, clock=time(9))}),
        ),
        setup=THREE,
    ),
    Case(
        "due, task first",
        one(
            "task 3 is due friday",
            Call("update_task", {"task_id": 3, "due_at": Due(weekday=FRIDAY)}),
        ),
        setup=THREE,
    ),
    Case(
        "rename by name",
        one(
            "rename the groceries task to Weekly shop",
            find("groceries"),
            Call("update_task", {"task_id": 1, "title": "Weekly shop"}),
        ),
        setup=THREE,
        todos={"Weekly shop": {}},
    ),
]

TAGGING = [
    Case(
        "tag keeps the other tags",
        one(
            "tag task 1 with #errands",
            Call("list_tasks"),
            Call("update_task", {"task_id": 1, "tags": ["home", "errands"]}),
        ),
        setup=(Todo("Buy groceries", tags=("home",)), Todo("Pay bills")),
        todos={"Buy groceries": {"tags": ["home", "errands"]}, "Pay bills": {"tags": []}},
    ),
    Case(
        "tag by name",
        one(
            "add #urgent-ish to the bills task",
            find("bills"),
            Call("list_tasks"),
            Call("update_task", {"task_id": 2, "tags": ["urgent-ish"]}),
        ),
        setup=THREE,
        todos={"Pay bills": {"tags": ["urgent-ish"]}},
    ),
]

TALKING = [
    Case("help", one("what can you do?", reply_has=HELP_TEXT)),
    Case("help, one word", one("Help", reply_has=HELP_TEXT)),
    Case("greeting", one("hello!", reply_has=HELP_TEXT)),
    Case("gibberish", one("asdf qwerty zxcv", reply_has="didn't understand"), setup=THREE),
    Case("off topic", one("what is the meaning of life", reply_has="didn't understand")),
    Case(
        "everything at once is refused",
        one("Delete all my tasks", reply_has="one at a time"),
        setup=THREE,
        todos={"Buy groceries": {}, "Pay bills": {}, "Call mom": {}},
    ),
    Case("nothing to undo", one("undo that", reply_has="nothing i can undo")),
]
