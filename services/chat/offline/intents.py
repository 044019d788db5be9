"""What the offline parser understood from one message: one small frozen class per intent.

The parser (``parser.parse``) only builds these; the engine (``engine.OfflineEngine``) turns
them into tool calls. Keeping them plain data makes the parser testable without any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.chat.schemas import Priority

StatusFilter = Literal["all", "pending", "completed"]
Action = Literal["complete", "reopen", "delete", "restore"]
ChatKind = Literal["help", "greeting", "thanks", "cancel", "bulk", "unknown"]


@dataclass(frozen=True)
class TaskRef:
    """A task as the user named it: by its number ("task 3") or by words ("the meeting task")."""

    number: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class AddTask:
    title: str
    priority: Priority | None = None
    due_at: datetime | None = None  # for a repeating task, its first occurrence
    tags: tuple[str, ...] = ()
    recurrence: str | None = None  # an RFC 5545 rule body: "FREQ=WEEKLY;BYDAY=MO"
    remind_before: str | None = None  # an ISO 8601 duration before due_at: "PT30M"


@dataclass(frozen=True)
class ListTasks:
    """A listing; ``label`` is how the reply names it ("pending tasks", "tasks due this week")."""

    status: StatusFilter = "all"
    priority: Priority | None = None
    tag: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    label: str = "tasks"
    overdue: bool = False  # only pending tasks already past due, by the todos service's clock


@dataclass(frozen=True)
class ChangeStatus:
    """Complete, reopen, delete or restore one or more tasks."""

    action: Action
    targets: tuple[TaskRef, ...]


@dataclass(frozen=True)
class UpdateTask:
    """Change some fields of one task; ``None`` means "leave it as it is"."""

    target: TaskRef
    title: str | None = None
    priority: Priority | None = None
    due_at: datetime | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TagTask:
    """Add tags to one task, keeping the ones it has."""

    target: TaskRef
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Repeat:
    """Make a task repeat (``rule``), or stop its series (``rule`` None)."""

    target: TaskRef
    rule: str | None
    first: datetime | None = None  # the first occurrence the phrase implies
    fixes_time: bool = False  # the phrase names a day or a time: the due date moves to it


@dataclass(frozen=True)
class Remind:
    """Set a task's reminder: at a moment, or a duration before its due date."""

    target: TaskRef
    at: datetime | None = None
    before: str | None = None  # an ISO 8601 duration: "PT30M"


@dataclass(frozen=True)
class Skip:
    """Move a repeating task to its next occurrence without completing it."""

    target: TaskRef


@dataclass(frozen=True)
class ClearCompleted:
    """ "Clear all completed tasks": delete the completed ones (undo brings them back)."""


@dataclass(frozen=True)
class Undo:
    """ "Undo that": revert the last undoable tool call found in the history."""


@dataclass(frozen=True)
class Choose:
    """An answer to "which one do you mean?": a task number or a position in the list."""

    number: int | None = None  # "task 4", "#4", "4": a task number, never a position
    position: int | None = None  # "the second one" -> 2 (ordinal words only)


@dataclass(frozen=True)
class Chat:
    """No action: help, a greeting, thanks, "never mind", a change to many tasks at once, or
    something not understood."""

    kind: ChatKind = "unknown"
    text: str = ""


Intent = (
    AddTask
    | ListTasks
    | ChangeStatus
    | UpdateTask
    | TagTask
    | Repeat
    | Remind
    | Skip
    | ClearCompleted
    | Undo
    | Choose
    | Chat
)
