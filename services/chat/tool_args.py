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
# The todos service stores numbers as Postgres integers and text without NUL: arguments it
# would refuse are refused here, as a tool error the model can correct.
MAX_NUMBER = 2**31 - 1
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"  # tab, newline, carriage return allowed
VISIBLE = r"^(?=[\s\S]*?\S)[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"  # ... and one visible character
Number = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_NUMBER, description="the task's number, as the user sees it"),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=VISIBLE)]
Description = Annotated[str, msgspec.Meta(max_length=10000, pattern=NO_CONTROL)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=VISIBLE)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]


class _Args(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class AddTask(_Args):
    """Create a task."""

    title: Title
    description: Description | None = None
    priority: Priority | None = None
    due_at: datetime | None = None  # ISO 8601; without an offset, in the user's zone
    tags: Tags = msgspec.field(default_factory=list)


class ListTasks(_Args):
    """List tasks, optionally narrowed: one page, with has_more and next_cursor for the rest."""

    status: Literal["all", "pending", "completed"] = "all"
    priority: Priority | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    tag: Tag | None = None
    number: Number | None = None  # just that task (e.g. to read its tags before changing them)
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50
    cursor: Annotated[str, msgspec.Meta(max_length=2048)] | None = None  # a next_cursor


class FindTasks(_Args):
    """Find tasks whose title or description contains the text (to resolve "the meeting task")."""

    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=VISIBLE)]
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


# The arguments an engine passes when the model's were not a JSON object: {UNPARSED: raw}.
UNPARSED = "unparsed"

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
