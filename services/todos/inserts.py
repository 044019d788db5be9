"""The SQL that creates todos: a new one and a recurring todo's next occurrence, each with
the user's next ``number`` (see ``models``). Rows come back as in ``repository``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CTE, ColumnElement, Table, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos.models import UserCounter
from services.todos.repository import TODO_COLUMNS, c, todo_of, todos
from services.todos.schemas import Todo

counters = cast(Table, UserCounter.__table__)


def _next_number(user_id: uuid.UUID, *, unless: ColumnElement[bool] | None = None) -> CTE:
    """The user's next number, as a CTE that bumps the counter (no row when ``unless`` holds).

    An upsert on the user's counter row: the row lock it takes serialises concurrent creates
    of one user until their commit, and the counter only ever grows, so numbers are neither
    duplicated nor reused.
    """
    first = select(literal(user_id, counters.c.user_id.type), literal(1))
    if unless is not None:
        first = first.where(~unless)
    return (
        pg_insert(counters)
        .from_select(["user_id", "last_number"], first)
        .on_conflict_do_update(
            index_elements=[counters.c.user_id],
            set_={"last_number": counters.c.last_number + 1},
        )
        .returning(counters.c.last_number)
        .cte("next_number")
    )


async def insert_todo(session: AsyncSession, user_id: uuid.UUID, values: Mapping[str, Any]) -> Todo:
    """Insert a todo with the user's next number, in one statement."""
    if values.get("status") == "completed":
        values = {**values, "completed_at": func.now()}
    next_number = _next_number(user_id)
    stmt = (
        insert(todos)
        .add_cte(next_number)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            number=select(next_number.c.last_number).scalar_subquery(),
            **values,
        )
        .returning(*TODO_COLUMNS)
    )
    return todo_of((await session.execute(stmt)).one())


async def insert_next_occurrence(
    session: AsyncSession,
    user_id: uuid.UUID,
    done_id: uuid.UUID,
    due_at: datetime,
    reminder: Mapping[str, Any],
) -> Todo | None:
    """Create the occurrence after todo ``done_id``, due at ``due_at``: a pending copy of its
    title, description, priority, tags and series, with the user's next number and the
    ``reminder`` columns given. None (and no number used) when that todo already has its
    next occurrence.

    The caller holds the row lock of ``done_id`` (it has just completed it), so another
    completion of it waits for this transaction and then sees the occurrence made here; the
    unique index on ``recurred_from`` backs that up.
    """
    exists = select(c.id).where(c.recurred_from == done_id).exists()
    next_number = _next_number(user_id, unless=exists)
    copied = ("title", "description", "priority", "tags", "recurrence", "time_zone")
    source = (
        select(
            literal(uuid.uuid4(), c.id.type),
            c.user_id,
            next_number.c.last_number,
            *(c[name] for name in copied),
            c.series_start,
            c.id,
            literal(due_at, c.due_at.type),
            *(literal(value, c[name].type) for name, value in reminder.items()),
        )
        .select_from(todos.join(next_number, true()))
        .where(c.id == done_id, c.user_id == user_id)
    )
    columns = [
        *("id", "user_id", "number", *copied, "series_start", "recurred_from", "due_at"),
        *reminder,
    ]
    stmt = (
        pg_insert(todos)
        .add_cte(next_number)
        .from_select(columns, source)
        .on_conflict_do_nothing(
            index_elements=[c.recurred_from], index_where=c.recurred_from.is_not(None)
        )
        .returning(*TODO_COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else todo_of(row)
