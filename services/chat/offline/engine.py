"""The offline engine: parse the message, act through the tools, confirm in one short reply.

It implements ``engine_api.Engine`` without any model: ``parser.parse`` says what the user
wants, this module resolves task names with ``find_tasks`` and calls the mutating tools.
When a name matches several tasks it calls nothing that changes data: it lists them and
asks which one; the next message ("2", "task 4", "the second one") is read together with
the stored history, since nothing is kept between requests.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from services.chat.engine_api import HistoryMessage, Toolbox, Turn
from services.chat.offline import history, replies
from services.chat.offline.dates import find_when
from services.chat.offline.intents import (
    Action,
    AddTask,
    ChangeStatus,
    Chat,
    Choose,
    ClearCompleted,
    Intent,
    ListTasks,
    Remind,
    Repeat,
    Skip,
    TagTask,
    TaskRef,
    Undo,
    UpdateTask,
)
from services.chat.offline.lookup import find_tasks
from services.chat.offline.parser import parse
from services.chat.offline.scheduling import Scheduling

# Where to look first when resolving a name: pending tasks to complete, done ones to reopen.
_SEARCH_ORDER: dict[str, tuple[str, ...]] = {
    "complete": ("pending", "all"),
    "reopen": ("completed", "all"),
}
# Tasks one message may change ("delete tasks 1, 2 and 3"); more is refused, not cut short.
MAX_TARGETS = 10
# Completed tasks one "clear" deletes: with the listing, the answer and the request they
# stay within the history window (CHAT_HISTORY_WINDOW, 20), so "undo" sees all of them.
MAX_CLEARED = 15


class OfflineEngine:
    """Deterministic assistant for everyday phrasings; no network besides the tools."""

    def __init__(self) -> None:
        # dateparser loads its language data on first use: pay that at start-up, not in a turn.
        find_when("tomorrow at 5pm", datetime.now(UTC))

    async def run(self, turn: Turn, tools: Toolbox) -> str:
        earlier = history.earlier_messages(turn)
        intent = parse(turn.message, turn.now)
        question = history.open_question(earlier)
        if question is not None:
            answer = _answer_to(question, intent, turn.now)
            if answer is None and isinstance(intent, Choose):  # a number not offered: ask again
                return replies.pick_again(question.candidates, turn.now.tzinfo)
            intent = answer or intent
        return await _Handler(tools, earlier, turn.now.tzinfo).handle(intent)


def _answer_to(question: history.Question, intent: Intent, now: datetime) -> Intent | None:
    """The original request with the chosen task, when ``intent`` answers ``question``."""
    number = _chosen(question.candidates, intent)
    if number is None:
        return None
    original = parse(question.request, now)
    if isinstance(original, ChangeStatus):
        asked_about_a_name = any(ref.number is None for ref in original.targets)
        return replace(original, targets=(TaskRef(number=number),)) if asked_about_a_name else None
    if isinstance(original, UpdateTask):
        return replace(original, target=TaskRef(number=number))
    return None


def _chosen(candidates: list[dict[str, Any]], intent: Intent) -> int | None:
    numbers = [n for task in candidates if (n := replies.task_number(task)) is not None]
    if isinstance(intent, Choose):
        if intent.number is not None:  # only one of the tasks offered, never another
            return intent.number if intent.number in numbers else None
        if intent.position is not None:
            index = intent.position - 1 if intent.position > 0 else len(numbers) - 1
            return numbers[index] if 0 <= index < len(numbers) else None
        return None
    if isinstance(intent, Chat) and intent.kind == "unknown":  # "the one about the client"
        words = re.sub(r"^(?:the\s+one\s+(?:about|with|called)\s+|the\s+)", "", intent.text.lower())
        words = words.strip(" .!?\"'")
        matching = [t for t in candidates if words and words in str(t["title"]).lower()]
        return replies.task_number(matching[0]) if len(matching) == 1 else None
    return None


class _Handler(Scheduling):
    """One answer: the tools, the history and the user's zone, shared by the handlers."""

    def __init__(self, tools: Toolbox, earlier: list[HistoryMessage], tz: tzinfo | None) -> None:
        self.tools = tools
        self.earlier = earlier
        self.tz = tz
        self.zone = getattr(tz, "key", None) or "UTC"  # the IANA name a series repeats in

    async def handle(self, intent: Intent) -> str:
        if isinstance(intent, AddTask):
            return await self.add(intent)
        if isinstance(intent, ListTasks):
            return await self.show(intent)
        if isinstance(intent, ChangeStatus):
            return await self.change_status(intent)
        if isinstance(intent, UpdateTask):
            return await self.update(intent)
        if isinstance(intent, TagTask):
            return await self.tag(intent)
        if isinstance(intent, Repeat):
            return await self.repeat(intent)
        if isinstance(intent, Skip):
            return await self.skip(intent)
        if isinstance(intent, Remind):
            return await self.remind(intent)
        if isinstance(intent, ClearCompleted):
            return await self.clear_completed()
        if isinstance(intent, Undo):
            return await self.undo()
        if isinstance(intent, Choose):
            return replies.WHICH_TASK
        return replies.chat(intent.kind)

    async def add(self, intent: AddTask) -> str:
        arguments: dict[str, Any] = {"title": intent.title}
        if intent.priority:
            arguments["priority"] = intent.priority
        if intent.due_at:
            arguments["due_at"] = intent.due_at.isoformat()
        if intent.tags:
            arguments["tags"] = list(intent.tags)
        if intent.recurrence:
            arguments.update(recurrence=intent.recurrence, time_zone=self.zone)
        if intent.remind_before:
            arguments["remind_before"] = intent.remind_before
        result = await self.tools.call("add_task", arguments)
        if "error" in result:
            return replies.refused("add_task", result)
        return replies.added(result, self.tz)

    async def show(self, intent: ListTasks) -> str:
        arguments: dict[str, Any] = {"status": intent.status}
        if intent.priority:
            arguments["priority"] = intent.priority
        if intent.tag:
            arguments["tag"] = intent.tag
        if intent.due_before:
            arguments["due_before"] = intent.due_before.isoformat()
        if intent.due_after:
            arguments["due_after"] = intent.due_after.isoformat()
        if intent.overdue:
            arguments["overdue"] = True
        result = await self.tools.call("list_tasks", arguments)
        if "error" in result:
            return replies.refused("list_tasks", result)
        tasks = result.get("tasks") or []
        return replies.listing(tasks, intent.label, self.tz, more=bool(result.get("has_more")))

    async def change_status(self, intent: ChangeStatus) -> str:
        if len(intent.targets) > MAX_TARGETS:
            return replies.too_many_targets(MAX_TARGETS)
        lines = []
        for ref in intent.targets:
            found = await self.resolve(ref, intent.action)
            if isinstance(found, str):
                lines.append(found)
                break
            tool = f"{intent.action}_task"
            result = await self.tools.call(tool, {"task_id": found})
            lines.append(
                replies.refused(tool, result)
                if "error" in result
                else replies.changed(result, self.tz)
            )
        return "\n".join(lines)

    async def update(self, intent: UpdateTask) -> str:
        found = await self.resolve(intent.target, "update")
        if isinstance(found, str):
            return found
        changes: dict[str, Any] = {}
        if intent.title:
            changes["title"] = intent.title
        if intent.priority:
            changes["priority"] = intent.priority
        if intent.due_at:
            changes["due_at"] = intent.due_at.isoformat()
        if intent.tags is not None:
            changes["tags"] = list(intent.tags)
        result = await self.tools.call("update_task", {"task_id": found, **changes})
        if "error" in result:
            return replies.refused("update_task", result)
        return replies.updated(result, changes, self.tz)

    async def tag(self, intent: TagTask) -> str:
        """Add tags: update_task replaces the list, so the current tags are read first."""
        found = await self.resolve(intent.target, "update")
        if isinstance(found, str):
            return found
        listed = await self.tools.call("list_tasks", {"task_id": found, "limit": 1})
        if "error" in listed:
            return replies.refused("list_tasks", listed)
        current = listed.get("tasks") or []
        if not current:
            return replies.refused("update_task", {"error": f"no task number {found}"})
        tags = [*(current[0].get("tags") or []), *intent.tags]
        changes = {"tags": list(dict.fromkeys(tags))}
        result = await self.tools.call("update_task", {"task_id": found, **changes})
        if "error" in result:
            return replies.refused("update_task", result)
        return replies.updated(result, changes, self.tz)

    async def clear_completed(self) -> str:
        """Delete the completed tasks, at most MAX_CLEARED a message, so that all of them fit
        in the history window "undo" reads (it restores the whole group)."""
        listed = await self.tools.call("list_tasks", {"status": "completed", "limit": MAX_CLEARED})
        if "error" in listed:
            return replies.refused("list_tasks", listed)
        deleted: list[dict[str, Any]] = []
        for task in listed.get("tasks") or []:
            result = await self.tools.call("delete_task", {"task_id": replies.task_number(task)})
            if "error" in result:
                return replies.cleared(
                    deleted, more=True, failure=replies.refused("delete_task", result)
                )
            deleted.append(result)
        return replies.cleared(deleted, more=bool(listed.get("has_more")))

    async def undo(self) -> str:
        calls = history.last_undoable(self.earlier)
        if not calls:
            return replies.NOTHING_TO_UNDO
        lines = []
        for call in calls:
            tool = history.INVERSE[str(call.tool_name)]
            number = replies.task_number(call.tool_result or {})
            result = await self.tools.call(tool, {"task_id": number})
            lines.append(
                replies.refused(tool, result)
                if "error" in result
                else replies.changed(result, self.tz)
            )
        return "\n".join(lines)

    async def resolve(self, ref: TaskRef, action: Action | str) -> int | str:
        """The task's number, or the reply to give instead (not found, or which one?)."""
        if ref.number is not None:
            return ref.number
        if ref.name is None:  # "it": the task the conversation last touched
            number = history.last_task_number(self.earlier)
            return number if number is not None else replies.WHICH_TASK
        if action == "restore":  # deleted tasks are found only in this conversation
            deleted = history.deleted_matching(self.earlier, ref.name)
            if len(deleted) == 1 and (number := replies.task_number(deleted[0])) is not None:
                return number
            return replies.restore_which(ref.name, len(deleted))
        tasks = await find_tasks(self.tools, ref.name, _SEARCH_ORDER.get(action, ("all",)))
        if isinstance(tasks, str):
            return tasks
        if not tasks:
            return replies.not_found(ref.name)
        if len(tasks) > 1:
            return replies.which_one(ref.name, tasks, self.tz)
        task = tasks[0]
        if (action, task.get("status")) in (("complete", "completed"), ("reopen", "pending")):
            return replies.already(task)
        number = replies.task_number(task)
        return number if number is not None else replies.WHICH_TASK
