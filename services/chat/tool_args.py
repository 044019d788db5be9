"""The assistant's tools and their arguments: one msgspec Struct per tool.

The JSON Schema of each Struct is what the model is given (``tool_definitions``), and the
same Structs validate the arguments whichever engine asks (model or offline parser), so an
invalid argument from the model becomes a tool error it can read, never a crash. No tool
takes a user id: tools always act as the caller whose token the request carried.
Tasks are referred to by their per-user ``number`` ("task 3").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Priority = Literal["low", "medium", "high", "urgent"]
Number = Annotated[int, msgspec.Meta(ge=1, description="the task's number, as the user sees it")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"\S")]
Description = Annotated[str, msgspec.Meta(max_length=10000)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"\S")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]


class _Args(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class AddTask(_Args):
    """Create a task."""

    title: Title
    description: Description | None = None
    priority: Priority | None = None
    due_at: datetime | None = None  # ISO 8601 with offset
    tags: Tags = msgspec.field(default_factory=list)


class ListTasks(_Args):
    """List tasks, optionally narrowed."""

    status: Literal["all", "pending", "completed"] = "all"
    priority: Priority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    tag: Tag | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50


class FindTasks(_Args):
    """Find tasks whose title or description contains the text (to resolve "the meeting task")."""

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    status: Literal["all", "pending", "completed"] = "all"


class TaskNumber(_Args):
    """complete_task, reopen_task, delete_task and restore_task take just the number."""

    number: Number


class UpdateTask(_Args):
    """Change some fields of a task; fields left out stay as they are."""

    number: Number
    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    due_at: datetime | None = None
    tags: Tags | None = None


TOOL_ARGUMENTS: dict[str, type[_Args]] = {
    "add_task": AddTask,
    "list_tasks": ListTasks,
    "find_tasks": FindTasks,
    "complete_task": TaskNumber,
    "reopen_task": TaskNumber,
    "update_task": UpdateTask,
    "delete_task": TaskNumber,
    "restore_task": TaskNumber,
}
