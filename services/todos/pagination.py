"""Sort keys and keyset cursors of ``GET /api/v1/todos``.

A sort key is a field name, with a leading ``-`` for descending (``-created_at``). A cursor
is the urlsafe base64 (unpadded) of the JSON ``[sort key, sort value, id]`` of the last
todo of a page; the next page starts strictly after that ``(value, id)`` pair, so rows
added or removed meanwhile never make a page repeat or skip the others.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from services.todos.schemas import SortKey
from shared.errors import invalid
from shared.pagination import Keyset, cursor_instant

SORT_FIELDS = ("created_at", "due_at", "priority", "title")
DEFAULT_SORT: SortKey = "-created_at"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 2048


def parse_sort(sort: str) -> tuple[str, bool]:
    """``"-due_at"`` -> ``("due_at", True)``: the field and whether it is descending."""
    field = sort.removeprefix("-")
    if field not in SORT_FIELDS:
        raise invalid("sort", f"must be one of {', '.join(SORT_FIELDS)}, optionally with '-'")
    return field, sort.startswith("-")


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def keyset(sort: str) -> Keyset[tuple[Any, uuid.UUID]]:
    """The cursors of the list in ``sort`` order: ``[sort, sort value, id]``."""
    field, _ = parse_sort(sort)

    def read(parts: list[Any]) -> tuple[Any, uuid.UUID]:
        value, todo_id = parts
        return _sort_value(field, value), msgspec.convert(todo_id, uuid.UUID)

    return Keyset(
        sort,
        read,
        max_length=MAX_CURSOR_LENGTH,
        refusal="is not a cursor of this list and sort order",
    )


def _sort_value(field: str, value: Any) -> Any:
    if field in ("created_at", "due_at"):
        if value is None and field == "due_at":
            return None  # todos without a due date
        return cursor_instant(value)
    if field == "priority":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            raise ValueError("bad priority rank")
        return value
    if not isinstance(value, str):
        raise ValueError("bad title")
    return value
