"""The offline engine's corpus: adding and listing tasks."""

from __future__ import annotations

from datetime import time

from tests.e2e.chat.corpus_cases import (
    DAYS,
    END_OF_WEEK,
    FRIDAY,
    MIXED,
    TODAY,
    TOMORROW,
    Case,
    Due,
    add,
    listing,
    one,
)

ADDING = [
    Case(
        "add",
        one("add a task to buy groceries", add("Buy groceries")),
        todos={"Buy groceries": {"status": "pending"}},
    ),
    Case("add shouting", one("ADD A TASK TO BUY GROCERIES!!!", add("BUY GROCERIES"))),
    Case("add to my list", one("Please add buy milk to my list", add("Buy milk"))),
    Case(
        "create with tag",
        one("create a new task: call the plumber #home", add("Call the plumber", tags=["home"])),
        todos={"Call the plumber": {"tags": ["home"]}},
    ),
    Case("remember", one("I need to remember to pay bills", add("Pay bills"))),
    Case("don't forget", one("don't let me forget to water the plants", add("Water the plants"))),
    Case(
        "remind with time",
        one(
            "remind me to call mom tomorrow at 5pm",
            add("Call mom", due_at=Due(days=1, clock=time(17))),
        ),
    ),
    Case(
        "remind, in Tokyo",
        one(
            "remind me to stretch tomorrow at 8am",
            add("Stretch", due_at=Due(days=1, clock=time(8))),
        ),
        zone="Asia/Tokyo",
    ),
    Case(
        "remind, in Los Angeles",
        one(
            "remind me to stretch tomorrow at 8am",
            add("Stretch", due_at=Due(days=1, clock=time(8))),
        ),
        zone="America/Los_Angeles",
    ),
    Case(
        "remind, date first",
        one(
            "Tomorrow at 5pm, remind me to call mom",
            add("Call mom", due_at=Due(days=1, clock=time(17))),
        ),
    ),
    Case(
        "remind, time first",
        one(
            "remind me to call mom at 5pm tomorrow",
            add("Call mom", due_at=Due(days=1, clock=time(17))),
        ),
    ),
    Case(
        "add with everything",
        one(
            "add 'write report' with high priority due friday #work",
            add("Write report", priority="high", due_at=Due(weekday=FRIDAY), tags=["work"]),
        ),
        todos={"Write report": {"priority": "high", "tags": ["work"]}},
    ),
    Case(
        "add with everything, reordered",
        one(
            '#work: add "write report" due Friday, high priority',
            add("Write report", priority="high", due_at=Due(weekday=FRIDAY), tags=["work"]),
        ),
    ),
    Case(
        "add urgent",
        one("add an urgent task to call the bank", add("Call the bank", priority="urgent")),
    ),
    Case(
        "have to, at a time",
        one(
            "I have to pick up the kids at 3pm",
            add("Pick up the kids", due_at=Due(clock=time(15), hour_today=True)),
        ),
    ),
    Case(
        "todo prefix, in days",
        one("todo: renew passport in 3 days", add("Renew passport", due_at=Due(days=3))),
    ),
]

LISTING = [
    Case("all", one("show me all my tasks", listing(5, status="all")), setup=MIXED),
    Case("all, short", one("list my todos", listing(5, status="all")), setup=MIXED),
    Case("pending", one("what's pending?", listing(4, status="pending")), setup=MIXED),
    Case(
        "pending, other words",
        one("What is still left to do", listing(4, status="pending")),
        setup=MIXED,
    ),
    Case(
        "completed",
        one("what have I completed?", listing(1, status="completed"), reply_has="Pay bills"),
        setup=MIXED,
    ),
    Case(
        "completed, other words",
        one("What did I finish", listing(1, status="completed")),
        setup=MIXED,
    ),
    Case(
        "high priority",
        one("show high priority tasks", listing(1, priority="high"), reply_has="Buy groceries"),
        setup=MIXED,
    ),
    Case("urgent", one("Show me URGENT tasks", listing(1, priority="urgent")), setup=MIXED),
    Case(
        "due this week",
        one("what's due this week?", listing(2, status="pending", due_before=END_OF_WEEK)),
        setup=MIXED,
    ),
    Case("tagged", one("show tasks tagged work", listing(1, tag="work")), setup=MIXED),
    Case(
        "overdue",
        one(
            "what's overdue",
            listing(1, status="pending", overdue=True),
            reply_has="Renew passport",
        ),
        setup=MIXED,
    ),
    *(
        Case(
            f"late: {message}",
            one(message, listing(1, status="pending", overdue=True), reply_has="Renew passport"),
            setup=DAYS,
        )
        for message in ("what's late?", "what is late", "anything late?")
    ),
    *(
        Case(
            f"due today: {message}",
            one(message, listing(1, status="pending", **TODAY), reply_has="Write report"),
            setup=DAYS,
        )
        for message in ("what's due today?", "what do I have today", "What do I have today?")
    ),
    *(
        Case(
            f"due tomorrow: {message}",
            one(
                message,
                listing(1, status="pending", **TOMORROW),
                reply_has=("pending tasks due tomorrow", "Call the bank"),
            ),
            setup=DAYS,
        )
        for message in (
            "what's due tomorrow?",
            "what is due tomorrow",
            "what do i have tomorrow",
            "what's on for tomorrow?",
        )
    ),
]
