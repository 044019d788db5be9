"""The offline engine's answers about when a task happens: make it repeat or stop, skip an
occurrence, set its reminder. A base of the engine's handler, which provides the tools, the
user's zone and how a task reference is resolved to its number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from services.chat.engine_api import Toolbox
from services.chat.offline import replies
from services.chat.offline.intents import Action, Remind, Repeat, Skip, TaskRef

# What update_task takes as "stop repeating" (its recurrence argument).
NO_RECURRENCE = "none"


class Scheduling:
    """Given by the engine's handler: the tools, the user's zone, and ``resolve``, which
    turns a task reference into its number (or the reply to give instead)."""

    tools: Toolbox
    tz: tzinfo | None
    zone: str  # the IANA name of the user's zone
    resolve: Callable[[TaskRef, Action | str], Awaitable[int | str]]

    async def repeat(self, intent: Repeat) -> str:
        """Make a task repeat (its due date moves to the phrase's first occurrence when the
        phrase names a day or time, or when it has none), or stop its series."""
        found = await self.resolve(intent.target, "update")
        if isinstance(found, str):
            return found
        changes: dict[str, Any] = {"recurrence": intent.rule or NO_RECURRENCE}
        if intent.rule and intent.first is not None:
            changes["time_zone"] = self.zone
            listed = await self.tools.call("list_tasks", {"task_id": found, "limit": 1})
            current = listed.get("tasks") or [{}]
            if intent.fixes_time or not current[0].get("due_at"):
                changes["due_at"] = intent.first.isoformat()
        result = await self.tools.call("update_task", {"task_id": found, **changes})
        if "error" in result:
            return replies.refused("update_task", result)
        return replies.repeats(result, self.tz)

    async def skip(self, intent: Skip) -> str:
        found = await self.resolve(intent.target, "update")
        if isinstance(found, str):
            return found
        result = await self.tools.call("skip_task", {"task_id": found})
        if "error" in result:
            return replies.refused("skip_task", result)
        return replies.repeats(result, self.tz, skipped=True)

    async def remind(self, intent: Remind) -> str:
        found = await self.resolve(intent.target, "update")
        if isinstance(found, str):
            return found
        changes: dict[str, Any] = (
            {"remind_at": intent.at.isoformat()} if intent.at else {"remind_before": intent.before}
        )
        result = await self.tools.call("update_task", {"task_id": found, **changes})
        if "error" in result:
            return replies.refused("update_task", result)
        return replies.reminder(result, self.tz)
