"""Request and response bodies of the todos API (msgspec Structs).

Input structs refuse unknown fields, so a typo in a field name is a 400, not a silent
no-op. ``TodoUpdate`` uses ``msgspec.UNSET`` so that a field left out of a PATCH body
("keep it") differs from a field sent as ``null`` ("clear it").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from services.todos import durations, recurrence
from shared.input_checks import CheckedInput

Status = Literal["pending", "completed"]
Priority = Literal["low", "medium", "high", "urgent"]
SortKey = Literal[
    "created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "title", "-title"
]

MAX_NUMBER = 2**31 - 1  # a todo's per-user number is a Postgres integer
# Postgres text cannot hold NUL, and other control characters (tab, newline and carriage
# return aside) are never meant: both are refused here with a 400 instead of failing in SQL.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# ... and a title or tag also needs one visible character (whitespace-only is refused).
VISIBLE = r"^(?=[\s\S]*?\S)[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
Title = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=255, pattern=VISIBLE, description="1..255 characters"),
]
Description = Annotated[
    str,
    msgspec.Meta(max_length=10000, pattern=NO_CONTROL, description="up to 10000 characters"),
]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=VISIBLE)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20, description="up to 20 tags, 1..50 each")]
Recurrence = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=recurrence.MAX_LENGTH,
        pattern=NO_CONTROL,
        description="an RFC 5545 RRULE body such as FREQ=WEEKLY;BYDAY=MO (needs due_at)",
    ),
]
TimeZoneName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA zone a recurring todo repeats in (default: X-Timezone, else UTC)",
    ),
]
RemindBefore = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=durations.MAX_TEXT_LENGTH,
        description="an ISO 8601 duration before due_at such as PT30M, PT1H30M or P1D "
        "(at most P366D; needs due_at)",
    ),
]


class TodoCreate(CheckedInput, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description | None = None
    status: Status = "pending"
    priority: Priority = "medium"
    due_at: datetime | None = None
    tags: Tags = msgspec.field(default_factory=list)
    recurrence: Recurrence | None = None
    time_zone: TimeZoneName | None = None
    # A reminder: relative to due_at or absolute, not both (services.todos.reminders).
    remind_before: RemindBefore | None = None
    remind_at: datetime | None = None


class TodoUpdate(CheckedInput, kw_only=True, forbid_unknown_fields=True):
    """A partial update: only the fields present in the body change."""

    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    due_at: datetime | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET
    recurrence: Recurrence | UnsetType | None = UNSET  # null stops the series
    time_zone: TimeZoneName | UnsetType | None = UNSET
    remind_before: RemindBefore | UnsetType | None = UNSET  # null clears the reminder
    remind_at: datetime | UnsetType | None = UNSET  # null clears the reminder

    def changes(self) -> dict[str, object]:
        """The fields that were sent, by name."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class Todo(msgspec.Struct):
    """A todo as the API returns it. Field order matches ``repository.TODO_COLUMNS``."""

    id: uuid.UUID
    number: int
    title: str
    description: str | None
    status: Status
    priority: Priority
    due_at: datetime | None
    remind_before: str | None  # an ISO 8601 duration before due_at
    remind_at: datetime | None  # when the reminder fires (from remind_before, or as given)
    tags: list[str]
    recurrence: str | None
    time_zone: str | None  # the zone a recurring todo repeats in
    recurred_from: uuid.UUID | None  # the todo whose completion created this one
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int
    # Only in the trash listing (``?deleted=true``): when the todo was deleted.
    deleted_at: datetime | UnsetType = UNSET

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class TodoPage(msgspec.Struct):
    items: list[Todo]
    next_cursor: str | None


class TodoFilters(CheckedInput, kw_only=True):
    """What ``GET /api/v1/todos`` narrows the list by (all optional, combined with AND)."""

    input_source = "query"

    status: Status | None = None
    priority: list[Priority] | None = None
    tags: list[str] | None = None  # the todo must carry every one of them
    q: str | None = None  # case-insensitive substring of title or description
    due_before: datetime | None = None  # due_at < due_before
    due_after: datetime | None = None  # due_at >= due_after
    overdue: bool | None = None  # True: pending and due before now; False: the others
    recurring: bool | None = None  # True: with a recurrence; False: without
    number: int | None = None  # the todo the user calls "task <number>"
    deleted: bool = False  # True: the trash (soft-deleted todos, restorable) instead
