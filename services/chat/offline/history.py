"""What the offline engine reads back from the conversation's stored history.

The engine keeps nothing between requests: a pending question ("which one do you mean?"),
the task "it" refers to and what "undo" reverts are all found in ``Turn.history``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.chat.engine_api import HistoryMessage, Turn
from services.chat.offline.replies import WHICH_ONE, task_number

# What undoing a tool call means: the tool that reverts it.
INVERSE = {
    "delete_task": "restore_task",
    "restore_task": "delete_task",
    "complete_task": "reopen_task",
    "reopen_task": "complete_task",
    "add_task": "delete_task",
}


@dataclass(frozen=True)
class Question:
    """Our last answer asked the user to pick one of ``candidates`` for ``request``."""

    request: str  # the user's message that was ambiguous
    candidates: list[dict[str, Any]]  # tasks as find_tasks returned them, in the order shown


def earlier_messages(turn: Turn) -> list[HistoryMessage]:
    """The history, less a failed attempt at this same message.

    The history never holds the current message itself. But when a turn fails (the todos
    service down, say), its user message stays stored without an answer; the user then
    sends the same words again. Dropping that unanswered copy lets the retry be read as the
    first attempt would have been, e.g. as the answer to the question asked just before.
    """
    history = list(turn.history)
    if history and history[-1].role == "user" and history[-1].content == turn.message:
        history.pop()
    return history


def open_question(history: list[HistoryMessage]) -> Question | None:
    """The clarifying question the previous answer asked, if it asked one.

    When that answer asked again (the reply named no task offered), the request and its
    candidates are those of the question before it.
    """
    spoken = [i for i, message in enumerate(history) if message.role != "tool"]
    while len(spoken) >= 2:
        answer, request = spoken[-1], spoken[-2]
        if history[answer].role != "assistant" or WHICH_ONE not in history[answer].content:
            return None
        if history[request].role != "user":
            return None
        candidates: list[dict[str, Any]] = []
        for message in history[request + 1 : answer]:
            if message.tool_name == "find_tasks" and message.tool_result:
                tasks = message.tool_result.get("tasks") or []
                if len(tasks) > 1:
                    candidates = tasks
        if candidates:
            return Question(history[request].content, candidates)
        spoken = spoken[:-2]  # asked again: look at the question before
    return None


def last_undoable(history: list[HistoryMessage]) -> list[HistoryMessage]:
    """The last successful undoable tool calls of one answer (several for "delete 2 and 3")."""
    found: list[HistoryMessage] = []
    for message in reversed(history):
        if message.role == "user" and found:
            break
        if message.role != "tool" or not _succeeded(message):
            continue
        if message.tool_name == "update_task" and not found:
            break  # the last change was an edit: its old values are not kept, nothing to undo
        if message.tool_name not in INVERSE:
            continue
        if found and message.tool_name != found[0].tool_name:
            break
        found.append(message)
    return list(reversed(found))


def last_task_number(history: list[HistoryMessage]) -> int | None:
    """The task the conversation last acted on or showed alone ("mark it done")."""
    for message in reversed(history):
        if message.role != "tool" or not _succeeded(message):
            continue
        result = message.tool_result or {}
        number = task_number(result)
        if number is not None:
            return number
        tasks = result.get("tasks")
        if isinstance(tasks, list) and len(tasks) == 1 and isinstance(tasks[0], dict):
            return task_number(tasks[0])
    return None


def deleted_matching(history: list[HistoryMessage], name: str) -> list[dict[str, Any]]:
    """Tasks deleted in this conversation whose title contains ``name`` (for "restore X")."""
    found: dict[int, dict[str, Any]] = {}
    for message in history:
        result = message.tool_result or {}
        if message.tool_name == "delete_task" and _succeeded(message):
            number = task_number(result)
            if number is not None and name.lower() in str(result.get("title", "")).lower():
                found[number] = result
        elif message.tool_name == "restore_task" and _succeeded(message):
            found.pop(task_number(result) or 0, None)
    return list(found.values())


def _succeeded(message: HistoryMessage) -> bool:
    result = message.tool_result
    return isinstance(result, dict) and "error" not in result
