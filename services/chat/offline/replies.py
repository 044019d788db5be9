"""The offline engine's answers: short confirmations built from the tools' results.

Dates in results are shown in the user's zone (the ``tz`` of ``Turn.now``). ``WHICH_ONE``
ends every clarifying question; the engine finds it in the history to know that the next
message ("2", "task 4", "the second one") answers it, so keep it stable.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

WHICH_ONE = "Which one do you mean?"

WHICH_TASK = 'Which task do you mean? Tell me its number, for example "complete task 4".'
NOTHING_TO_UNDO = (
    "There is nothing I can undo: I can undo adding, completing, reopening, deleting or "
    "restoring a task, but not an edit (tell me the old value to set it back)."
)
HELP = (
    "I can manage your tasks. Try:\n"
    '• "add a task to buy groceries" or "remind me to call mom tomorrow at 5pm"\n'
    "• \"add 'write report' with high priority due friday #work\"\n"
    '• "show me all my tasks", "what\'s pending?", "what\'s due this week?"\n'
    '• "mark task 3 as complete", "I finished the groceries one", "reopen task 2"\n'
    '• "change task 1 to \'Call mom tonight\'", "make task 2 urgent", '
    '"move task 5 to next monday"\n'
    '• "delete the meeting task", then "undo that" if you change your mind\n'
    '• "clear all completed tasks"'
)

NARROW = (
    'To narrow it, ask for "pending tasks", "high priority tasks", a #tag or "tasks due this week".'
)

_DAY_NAMES = {
    "MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
    "FR": "Friday", "SA": "Saturday", "SU": "Sunday",
}  # fmt: skip
_DONE_VERBS = {
    "completed": "Marked task {n} {title} as done.",
    "reopened": "Reopened task {n} {title}.",
    "deleted": 'Deleted task {n} {title}. Say "undo" to bring it back.',
    "restored": "Restored task {n} {title}.",
}
_VERBS = {
    "complete_task": "complete",
    "reopen_task": "reopen",
    "delete_task": "delete",
    "restore_task": "restore",
    "skip_task": "skip",
    "update_task": "update",
    "add_task": "add",
    "list_tasks": "list",
    "find_tasks": "search",
}


def chat(kind: str) -> str:
    if kind == "greeting":
        return "Hi! " + HELP
    if kind == "thanks":
        return "You're welcome! Anything else I can do for your tasks?"
    if kind == "help":
        return HELP
    if kind == "cancel":
        return "OK, I left your tasks as they are."
    if kind == "bulk":
        return (
            "To be safe I change tasks one at a time: tell me their numbers, for example "
            '"delete tasks 2 and 3" (say "show my tasks" to see them), or say "clear '
            'completed tasks" to delete the done ones.'
        )
    return "Sorry, I didn't understand that. " + HELP


def refused(tool: str, result: dict[str, Any]) -> str:
    """A tool's refusal, said plainly ("no task number 7")."""
    return f"Sorry, I couldn't {_VERBS.get(tool, 'do')} that: {result['error']}."


def added(task: dict[str, Any], tz: tzinfo | None) -> str:
    if task.get("recurrence"):
        head = f"Added task {_number(task)}: {_quote(task)}, {_series(task, tz)}."
    else:
        details = _details(task, tz)
        head = f"Added task {_number(task)}: {_quote(task)}" + (
            f" ({details})." if details else "."
        )
    return head + (f" {_reminding(task, tz)}" if task.get("remind_at") else "")


def repeats(task: dict[str, Any], tz: tzinfo | None, *, skipped: bool = False) -> str:
    """After a task was made to repeat, stopped repeating, or had an occurrence skipped."""
    if skipped:
        return f"Skipped: task {_number(task)} {_quote(task)}. Next: {_when(task['due_at'], tz)}."
    if not task.get("recurrence"):
        return f"Task {_number(task)} {_quote(task)} no longer repeats."
    return f"Task {_number(task)} {_quote(task)} now {_series(task, tz)}."


def reminder(task: dict[str, Any], tz: tzinfo | None) -> str:
    """After a task's reminder was set."""
    return f"Task {_number(task)} {_quote(task)}: {_reminding(task, tz)}"


def _reminding(task: dict[str, Any], tz: tzinfo | None) -> str:
    return f"I'll remind you {_when(task['remind_at'], tz)}."


def _series(task: dict[str, Any], tz: tzinfo | None) -> str:
    """ "repeats every week. Next: Mon 14 Dec 09:00" for a repeating task."""
    next_at = f"Next: {_when(task['due_at'], tz)}" if task.get("due_at") else ""
    return f"repeats {_rule_in_words(str(task['recurrence']))}. {next_at}".strip()


def _rule_in_words(rule: str) -> str:
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}.get(
        parts.get("FREQ", ""), "time"
    )
    interval = int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 1
    words = f"every {interval} {unit}s" if interval > 1 else f"every {unit}"
    days = parts.get("BYDAY", "")
    if days == "MO,TU,WE,TH,FR":
        return "every weekday"
    if days and unit == "week":
        names = [_DAY_NAMES.get(day[-2:], day) for day in days.split(",")]
        return f"{words} on {', '.join(names)}"
    if parts.get("BYMONTHDAY") or days:
        return f"{words} ({rule})"
    return words


def changed(task: dict[str, Any], tz: tzinfo | None = None) -> str:
    template = _DONE_VERBS.get(task.get("status", ""), "Done: task {n} {title}.")
    said = template.format(n=_number(task), title=_quote(task))
    if task.get("next_due_at"):  # a repeating task: its next occurrence was created
        said += f" Next: {_when(task['next_due_at'], tz)} (task {task.get('next_task_id')})."
    return said


def updated(task: dict[str, Any], changes: dict[str, Any], tz: tzinfo | None) -> str:
    parts = []
    if "priority" in changes:
        parts.append(f"priority is now {task.get('priority', changes['priority'])}")
    if "due_at" in changes:
        parts.append(f"due {_when(task.get('due_at') or changes['due_at'], tz)}")
    if "tags" in changes:
        parts.append("tags " + " ".join(f"#{tag}" for tag in task.get("tags", changes["tags"])))
    if "title" in changes:
        head = f"Renamed task {_number(task)} to {_quote(task)}"
        return head + (f" ({', '.join(parts)})." if parts else ".")
    return f"Updated task {_number(task)} {_quote(task)}: {', '.join(parts) or 'saved'}."


def cleared(deleted: list[dict[str, Any]], *, more: bool, failure: str = "") -> str:
    """What "clear all completed tasks" did."""
    if not deleted:
        return failure or "You have no completed tasks to clear."
    count = f"{len(deleted)} completed task{'s' if len(deleted) > 1 else ''}"
    names = ", ".join(f"#{_number(task)} {_quote(task)}" for task in deleted)
    lines = [f"Deleted {count}: {names}.", failure]
    if more and not failure:
        lines.append('There are more: say "clear completed tasks" again.')
    lines.append('Say "undo" to bring them back.')
    return "\n".join(line for line in lines if line)


def listing(tasks: list[dict[str, Any]], label: str, tz: tzinfo | None, *, more: bool) -> str:
    if not tasks:
        return f"You have no {label}."
    head = f"Your {label} ({len(tasks)}):"
    if more:
        head = f"You have more {label} than I can show at once; here are the first {len(tasks)}:"
    lines = [head, *(_line(task, tz) for task in tasks)]
    if more:
        lines.append(NARROW)
    return "\n".join(lines)


def pick_again(candidates: list[dict[str, Any]], tz: tzinfo | None) -> str:
    """The answer to "which one?" was not one of the tasks offered: offer them again."""
    lines = ["That isn't one of these:", *(_line(task, tz) for task in candidates)]
    lines.append(f'{WHICH_ONE} Reply with its number, or say "never mind".')
    return "\n".join(lines)


def too_many_targets(limit: int) -> str:
    return f"I change at most {limit} tasks in one message; please name fewer at a time."


def which_one(name: str, tasks: list[dict[str, Any]], tz: tzinfo | None) -> str:
    lines = [f'{len(tasks)} tasks match "{name}":']
    lines += [_line(task, tz) for task in tasks]
    lines.append(f"{WHICH_ONE} Reply with its number.")
    return "\n".join(lines)


def not_found(name: str) -> str:
    return f'I couldn\'t find a task matching "{name}". Say "show my tasks" to see them all.'


def restore_which(name: str, matches: int) -> str:
    return (
        f'I found {matches} deleted tasks matching "{name}" in this conversation; '
        "tell me the number of the task to restore."
    )


def already(task: dict[str, Any]) -> str:
    if task.get("status") == "completed":
        return f"Task {_number(task)} {_quote(task)} is already done."
    return f"Task {_number(task)} {_quote(task)} isn't done yet, so there is nothing to reopen."


def _line(task: dict[str, Any], tz: tzinfo | None) -> str:
    details = _details(task, tz)
    done = " ✓" if task.get("status") == "completed" else ""
    return f"• #{_number(task)} {task['title']}{done}" + (f" ({details})" if details else "")


def _details(task: dict[str, Any], tz: tzinfo | None) -> str:
    parts = []
    if task.get("priority") and task["priority"] != "medium":
        parts.append(f"{task['priority']} priority")
    if task.get("due_at"):
        parts.append(f"due {_when(task['due_at'], tz)}")
    parts += [f"#{tag}" for tag in task.get("tags") or []]
    return ", ".join(parts)


def _when(value: str | datetime, tz: tzinfo | None) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if tz is not None and moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    same_year = moment.year == datetime.now(moment.tzinfo).year
    return moment.strftime("%a %d %b %H:%M" if same_year else "%a %d %b %Y %H:%M")


def task_number(task: dict[str, Any]) -> int | None:
    """A task's number in a tool result: ``task_id`` (conversations stored before the tools
    moved to MCP named it ``number``, their ``task_id`` being the uuid)."""
    for key in ("task_id", "number"):
        value = task.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _number(task: dict[str, Any]) -> str:
    number = task_number(task)
    return "?" if number is None else str(number)


def _quote(task: dict[str, Any]) -> str:
    return f'"{task.get("title", "")}"'
