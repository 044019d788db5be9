"""The offline engine's corpus: completing, deleting and restoring tasks, and names that
fit several tasks."""

from __future__ import annotations

from tests.e2e.chat.corpus_cases import (
    MEETINGS,
    THREE,
    Call,
    Case,
    Step,
    Todo,
    add,
    find,
    number,
    one,
)

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
