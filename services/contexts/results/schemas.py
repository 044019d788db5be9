"""The list of a job's tasks and their context files (msgspec Structs)."""

from __future__ import annotations

import msgspec

from services.contexts.schemas import TaskStatus


class ContextItem(msgspec.Struct, kw_only=True):
    task_id: str
    function_name: str
    type: str
    path: str  # where the file goes in the project: .claude_tasks/contexts/<name>.md
    status: TaskStatus
    batch: int
    warnings: list[str]
    error: str | None


class ContextList(msgspec.Struct):
    items: list[ContextItem]
