"""The SQL of the todo list (``GET /api/v1/todos``): its filters, sort orders and keysets.

Like every statement of the service, scoped to one user and, but for the trash listing
(``TodoFilters.deleted``), to live rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos.repository import TODO_COLUMNS, todo_of, todos
from services.todos.schemas import Todo, TodoFilters

c = todos.c
INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}

# The sort expressions are never NULL, so (expression, id) is a total order for keysets.
SORT_EXPRESSIONS: dict[str, ColumnElement[Any]] = {
    "created_at": c.created_at,
    "due_at": func.coalesce(c.due_at, INFINITY),  # no due date sorts after every date
    "priority": case(PRIORITY_RANK, value=c.priority, else_=-1),
    "title": c.title,
}


def sort_key_value(sort_field: str, todo: Todo) -> Any:
    """The value of the sort expression for ``todo`` (what a cursor carries)."""
    if sort_field == "priority":
        return PRIORITY_RANK[todo.priority]
    return getattr(todo, sort_field)


def _cursor_bound(sort_field: str, value: Any) -> ColumnElement[Any]:
    if sort_field == "due_at" and value is None:
        return INFINITY
    return literal(value, SORT_EXPRESSIONS[sort_field].type)


async def list_page(session: AsyncSession, statement: Select[Any]) -> Sequence[Todo]:
    """The todos a :func:`page_statement` selects, in its order."""
    return [todo_of(row) for row in await session.execute(statement)]


def page_statement(
    user_id: uuid.UUID,
    filters: TodoFilters,
    *,
    sort_field: str,
    descending: bool,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> Select[Any]:
    """Up to ``limit`` todos in sort order, starting after the ``(value, id)`` keyset
    (also what the list benchmark EXPLAINs)."""
    stmt = _filtered(user_id, filters)
    expression = SORT_EXPRESSIONS[sort_field]
    if after is not None:
        key = tuple_(expression, c.id)
        bound = tuple_(_cursor_bound(sort_field, after[0]), literal(after[1], c.id.type))
        stmt = stmt.where(key < bound if descending else key > bound)
    if descending:
        stmt = stmt.order_by(expression.desc(), c.id.desc())
    else:
        stmt = stmt.order_by(expression.asc(), c.id.asc())
    return stmt.limit(limit)


def _filtered(user_id: uuid.UUID, filters: TodoFilters) -> Select[Any]:
    if filters.deleted:  # the trash: its items also say when they were deleted
        stmt = select(*TODO_COLUMNS, c.deleted_at).where(
            c.user_id == user_id, c.deleted_at.is_not(None)
        )
    else:
        stmt = select(*TODO_COLUMNS).where(c.user_id == user_id, c.deleted_at.is_(None))
    if filters.number is not None:
        stmt = stmt.where(c.number == filters.number)
    if filters.status is not None:
        stmt = stmt.where(c.status == filters.status)
    if filters.priority:
        stmt = stmt.where(c.priority.in_(filters.priority))
    if filters.tags:
        stmt = stmt.where(c.tags.contains(filters.tags))
    if filters.q:
        pattern = f"%{escape_like(filters.q)}%"
        stmt = stmt.where(
            or_(c.title.ilike(pattern, escape="\\"), c.description.ilike(pattern, escape="\\"))
        )
    if filters.due_before is not None:
        stmt = stmt.where(c.due_at < filters.due_before)
    if filters.due_after is not None:
        stmt = stmt.where(c.due_at >= filters.due_after)
    if filters.overdue is not None:
        overdue = and_(c.status == "pending", c.due_at < func.now())
        stmt = stmt.where(overdue if filters.overdue else not_(func.coalesce(overdue, False)))
    if filters.recurring is not None:
        recurs = c.recurrence.is_not(None) if filters.recurring else c.recurrence.is_(None)
        stmt = stmt.where(recurs)
    return stmt


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
