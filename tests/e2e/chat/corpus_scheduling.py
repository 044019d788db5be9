"""The offline engine's corpus: repeating tasks and reminders."""

from __future__ import annotations

from datetime import time

from tests.e2e.chat.corpus_cases import (
    THREE,
    ZONE,
    Call,
    Case,
    Due,
    Step,
    Todo,
    add,
    find,
    number,
    one,
)

WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
PLANTS = Todo("Water the plants", due=Due(days=1, clock=time(9)), recurrence="FREQ=WEEKLY")
REPEATING = [
    Case(
        "every monday at 9am",
        one(
            "remind me every monday at 9am to water the plants",
            add("Water the plants", recurrence="FREQ=WEEKLY;BYDAY=MO", time_zone=ZONE),
            reply_has="repeats every week on Monday. Next: Mon",
        ),
        todos={"Water the plants": {"recurrence": "FREQ=WEEKLY;BYDAY=MO", "time_zone": ZONE}},
    ),
    Case(
        "every month on the 1st",
        one(
            "add pay rent every month on the 1st",
            add("Pay rent", recurrence="FREQ=MONTHLY;BYMONTHDAY=1"),
            reply_has="Next:",
        ),
    ),
    Case(
        "every weekday at 8:30",
        one(
            "standup every weekday at 8:30",
            add("Standup", recurrence=WEEKDAYS),
            reply_has=("every weekday", "Next:", "08:30"),
        ),
    ),
    Case(
        "every weekday at a bare hour",
        one(
            "standup every weekday at 8",
            add("Standup", recurrence=WEEKDAYS),
            reply_has=("every weekday. Next:", "08:00"),
        ),
    ),
    Case(
        "every monday at a bare hour",
        one(
            "add water plants every monday at 9",
            add("Water plants", recurrence="FREQ=WEEKLY;BYDAY=MO"),
            reply_has=("Next: Mon", "09:00"),
        ),
    ),
    Case(
        "every 2 weeks",
        one(
            "add review the budget every 2 weeks",
            add("Review the budget", recurrence="FREQ=WEEKLY;INTERVAL=2"),
            reply_has="every 2 weeks",
        ),
    ),
    Case("daily", one("add stretch daily", add("Stretch", recurrence="FREQ=DAILY"))),
    Case(
        "make a task repeat",
        one(
            "make task 3 repeat weekly",
            Call("list_tasks", {"task_id": 3}),
            Call("update_task", {"task_id": 3, "recurrence": "FREQ=WEEKLY"}),
            reply_has="now repeats every week",
        ),
        setup=THREE,
        todos={"Call mom": {"recurrence": "FREQ=WEEKLY"}},
    ),
    Case(
        "stop repeating",
        one(
            "stop repeating task 1",
            Call("update_task", {"task_id": 1, "recurrence": "none"}),
            reply_has="no longer repeats",
        ),
        setup=(PLANTS,),
        todos={"Water the plants": {"recurrence": None}},
    ),
    Case(
        "complete a repeating task",
        one(
            "mark task 1 as done",
            number("complete_task", 1, "completed"),
            reply_has=("Next:", "(task 2)"),
        ),
        setup=(PLANTS,),
    ),
    Case(
        "skip",
        one("skip task 1", number("skip_task", 1, "skipped"), reply_has=("Skipped", "Next:")),
        setup=(PLANTS,),
        todos={"Water the plants": {"due_at": Due(days=8, clock=time(9))}},
    ),
    Case(
        "skip the next occurrence",
        one(
            "skip the next occurrence of task 1",
            number("skip_task", 1, "skipped"),
            reply_has="Skipped",
        ),
        setup=(PLANTS,),
        todos={"Water the plants": {"due_at": Due(days=8, clock=time(9))}},
    ),
]

BILLS_DUE = (Todo("Buy groceries"), Todo("Pay bills", due=Due(days=1, clock=time(17))))
REMINDING = [
    Case(
        "remind me about a task at a time",
        one(
            "remind me about task 2 tomorrow at 9",
            Call("update_task", {"task_id": 2, "remind_at": Due(days=1, clock=time(9))}),
            reply_has="I'll remind you",
        ),
        setup=THREE,
        todos={"Pay bills": {"remind_at": Due(days=1, clock=time(9))}},
    ),
    Case(
        "a new task with its reminder",
        one(
            "add dentist tomorrow at 3pm and remind me 30 minutes before",
            add("Dentist", due_at=Due(days=1, clock=time(15)), remind_before="PT30M"),
            reply_has="I'll remind you",
        ),
        todos={"Dentist": {"remind_at": Due(days=1, clock=time(14, 30))}},
    ),
    Case(
        "a reminder before something with a date is a new task",
        one(
            "remind me 30 minutes before the meeting tomorrow at 3pm",
            add("The meeting", due_at=Due(days=1, clock=time(15)), remind_before="PT30M"),
            reply_has="I'll remind you",
        ),
        todos={"The meeting": {"remind_at": Due(days=1, clock=time(14, 30))}},
    ),
    Case(
        "remind me before, of the task just added",
        (
            Step("add call mom tomorrow at 5pm", (add("Call mom"),)),
            Step(
                "remind me 30 minutes before",
                (Call("update_task", {"task_id": 1, "remind_before": "PT30M"}),),
                reply_has="I'll remind you",
            ),
        ),
        todos={"Call mom": {"remind_at": Due(days=1, clock=time(16, 30))}},
    ),
    Case(
        "remind me before a task by number",
        one(
            "remind me 30 minutes before task 2",
            Call("update_task", {"task_id": 2, "remind_before": "PT30M"}),
            reply_has="I'll remind you",
        ),
        setup=BILLS_DUE,
        todos={"Pay bills": {"remind_at": Due(days=1, clock=time(16, 30))}},
    ),
    Case(
        "remind me about a task, before",
        one(
            "remind me about task 2 an hour before",
            Call("update_task", {"task_id": 2, "remind_before": "PT1H"}),
            reply_has="I'll remind you",
        ),
        setup=BILLS_DUE,
        todos={"Pay bills": {"remind_at": Due(days=1, clock=time(16))}},
    ),
    Case(
        "remind me days before a task by name",
        one(
            "remind me 2 days before the bills task is due",
            find("bills"),
            Call("update_task", {"task_id": 2, "remind_before": "P2D"}),
            reply_has="I'll remind you",
        ),
        setup=(Todo("Buy groceries"), Todo("Pay bills", due=Due(days=5, clock=time(12)))),
        todos={"Pay bills": {"remind_at": Due(days=3, clock=time(12))}},
    ),
]
