"""The offline engine's corpus: everyday phrasings and the tool calls each must produce.

Each :class:`Case` is one conversation of a fresh user: the todos created first through the
todos API (numbered 1, 2, ... in that order), then the messages, each with the tool calls
it must make (name and the arguments that matter, in order; no other call) and what must
be true of the todos afterwards. Dates are checked in the case's zone (sent as
``X-Timezone``), relative to the moment the test runs.
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

CHANGING = [
    Case(
        "complete by number",
        one("mark task 3 as complete", number("complete_task", 3)),
        setup=THREE,
        todos={"Call mom": {"status": "completed"}},
    ),
    Case(
        "complete, capitals",
        one("Mark Task 1 Complete!", number("complete_task", 1)),
        setup=THREE,
        todos={"Buy groceries": {"status": "completed"}},
    ),
    Case(
        "complete, task first",
        one("task 2 is done.", number("complete_task", 2)),
        setup=THREE,
        todos={"Pay bills": {"status": "completed"}},
    ),
    Case(
        "complete two",
        one("complete tasks 1 and 2", number("complete_task", 1), number("complete_task", 2)),
        setup=THREE,
        todos={
            "Buy groceries": {"status": "completed"},
            "Pay bills": {"status": "completed"},
            "Call mom": {"status": "pending"},
        },
    ),
    Case(
        "complete by name",
        one(
            "I finished the groceries one", find("groceries", "pending"), number("complete_task", 1)
        ),
        setup=THREE,
        todos={"Buy groceries": {"status": "completed"}},
    ),
    Case(
        "complete by name, other words",
        one("i'm done with the bills", find("bills", "pending"), number("complete_task", 2)),
        setup=THREE,
        todos={"Pay bills": {"status": "completed"}},
    ),
    Case(
        "complete a missing number",
        one("mark task 9 as complete", number("complete_task", 9), reply_has="no task number 9"),
        setup=THREE,
    ),
    Case(
        "reopen by number",
        one("reopen task 2", number("reopen_task", 2, "reopened")),
        setup=(Todo("Buy groceries"), Todo("Pay bills", status="completed")),
        todos={"Pay bills": {"status": "pending"}},
    ),
    Case(
        "reopen, other words",
        one("mark task 2 as not done", number("reopen_task", 2)),
        setup=(Todo("Buy groceries"), Todo("Pay bills", status="completed")),
        todos={"Pay bills": {"status": "pending"}},
    ),
    Case(
        "reopen by name",
        one(
            "I didn't finish the report after all",
            find("report", "completed"),
            number("reopen_task", 1),
        ),
        setup=(Todo("Write report", status="completed"),),
        todos={"Write report": {"status": "pending"}},
    ),
    Case(
        "delete by name",
        one("delete the meeting task", find("meeting"), number("delete_task", 1, "deleted")),
        setup=(Todo("Team meeting"), Todo("Buy groceries")),
        gone=("Team meeting",),
    ),
    Case(
        "delete by number",
        one("remove task 2", number("delete_task", 2)),
        setup=THREE,
        gone=("Pay bills",),
    ),
    Case(
        "delete, called",
        one("Get rid of the task called dentist", find("dentist"), number("delete_task", 2)),
        setup=(Todo("Buy groceries"), Todo("Dentist appointment")),
        gone=("Dentist appointment",),
    ),
    Case(
        "delete then undo",
        (
            Step("delete the meeting task", (find("meeting"), number("delete_task", 1))),
            Step("undo that", (number("restore_task", 1, "restored"),)),
        ),
        setup=(Todo("Team meeting"), Todo("Buy groceries")),
        todos={"Team meeting": {"status": "pending"}},
    ),
    Case(
        "delete two then undo",
        (
            Step("delete tasks 1 and 3", (number("delete_task", 1), number("delete_task", 3))),
            Step("oops, undo!", (number("restore_task", 1), number("restore_task", 3))),
        ),
        setup=THREE,
        todos={"Buy groceries": {}, "Call mom": {}},
    ),
    Case(
        "delete then restore by number",
        (
            Step("delete task 2", (number("delete_task", 2),)),
            Step("restore task 2", (number("restore_task", 2, "restored"),)),
        ),
        setup=THREE,
        todos={"Pay bills": {"status": "pending"}},
    ),
    Case(
        "delete then restore by name",
        (
            Step("trash the bills task", (find("bills"), number("delete_task", 2))),
            Step("bring back the bills task", (number("restore_task", 2),)),
        ),
        setup=THREE,
        todos={"Pay bills": {}},
    ),
    Case(
        "complete then undo",
        (
            Step("check off task 1", (number("complete_task", 1),)),
            Step("undo", (number("reopen_task", 1),)),
        ),
        setup=THREE,
        todos={"Buy groceries": {"status": "pending"}},
    ),
    Case(
        "add then complete it",
        (
            Step("add a task to call the bank", (add("Call the bank"),)),
            Step("mark it done", (number("complete_task", 1),)),
        ),
        todos={"Call the bank": {"status": "completed"}},
    ),
]

AMBIGUOUS = [
    Case(
        "ambiguous delete, answered by number",
        (
            Step("delete the meeting task", (find("meeting"),), reply_has="which one"),
            Step("2", (number("delete_task", 2),)),
        ),
        setup=MEETINGS,
        todos={"Team meeting": {}},
        gone=("Meeting notes",),
    ),
    Case(
        "ambiguous complete, answered by position",
        (
            Step("complete the meeting task", (find("meeting", "pending"),), reply_has="which one"),
            Step("the second one", (number("complete_task", 2),)),
        ),
        setup=MEETINGS,
        todos={"Meeting notes": {"status": "completed"}, "Team meeting": {"status": "pending"}},
    ),
    Case(
        "ambiguous rename, answered with task N",
        (
            Step("rename the meeting task to Standup", (find("meeting"),), reply_has="which one"),
            Step("task 1", (Call("update_task", {"task_id": 1, "title": "Standup"}),)),
        ),
        setup=MEETINGS,
        todos={"Standup": {}, "Meeting notes": {}},
        gone=("Team meeting",),
    ),
    Case(
        "ambiguous delete, answered with words",
        (
            Step("delete the meeting task", (find("meeting"),), reply_has="which one"),
            Step("the one about notes", (number("delete_task", 2),)),
        ),
        setup=MEETINGS,
        todos={"Team meeting": {}},
        gone=("Meeting notes",),
    ),
    Case(
        "name found by its words",
        one(
            "I finished the call mom one",
            find("call mom", "pending"),
            find("call mom"),
            find("call", "pending"),
            number("complete_task", 1),
        ),
        setup=(Todo("Call my mom"), Todo("Call the bank")),
        todos={"Call my mom": {"status": "completed"}, "Call the bank": {"status": "pending"}},
    ),
    Case(
        "one common word picks nothing",
        one(
            "delete the team call task", find("team call"), find("team"), reply_has="couldn't find"
        ),
        setup=(Todo("Team meeting"), Todo("Call mom")),
        todos={"Team meeting": {}, "Call mom": {}},
    ),
    Case(
        "reopen what is not done",
        one(
            "reopen the report",
            find("report", "completed"),
            find("report"),
            reply_has="isn't done yet",
        ),
        setup=(Todo("Write report"),),
        todos={"Write report": {"status": "pending"}},
    ),
    Case(
        "ambiguous, then never mind",
        (
            Step("complete the meeting task", (find("meeting", "pending"),), reply_has="which one"),
            Step("never mind", reply_has="left your tasks"),
        ),
        setup=MEETINGS,
        todos={"Team meeting": {"status": "pending"}, "Meeting notes": {"status": "pending"}},
    ),
    Case(
        "not found",
        one("delete the dentist task", find("dentist"), reply_has="couldn't find"),
        setup=MEETINGS,
    ),
]

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

CORPUS: list[Case] = (
    ADDING + LISTING + CHANGING + AMBIGUOUS + UPDATING + TAGGING + REPEATING + REMINDING + TALKING
)
