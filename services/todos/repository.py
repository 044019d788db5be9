"""The SQL of one todo of the todos service (the list's is in ``list_query``).

Every statement is scoped to one user and, except :func:`restore`, to live rows
(``deleted_at IS NULL``), so isolation and soft deletion cannot be forgotten by a caller.
Statements use the Core table (not ORM entities): one round trip each, rows come back in
the field order of :class:`~services.todos.schemas.Todo`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    CTE,
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos.models import TodoModel, UserCounter
from services.todos.schemas import Todo

todos = cast(Table, TodoModel.__table__)
counters = cast(Table, UserCounter.__table__)
c = todos.c

# Same order as the fields of schemas.Todo, so a row becomes a Todo with Todo(*row).
TODO_COLUMNS = (
    c.id,
    c.number,
    c.title,
    c.description,
    c.status,
    c.priority,
    c.due_at,
    c.tags,
    c.recurrence,
    c.time_zone,
    c.recurred_from,
    c.created_at,
    c.updated_at,
    c.completed_at,
    c.version,
)

# The hot path (GET by id). Compiled once to the driver's SQL ($1, $2) and run on the
# session's asyncpg connection: one prepared-statement round trip, without the BEGIN and
# ROLLBACK (and the ORM execution machinery) a ``session.execute`` would add for a read.
_GET_LIVE = select(*TODO_COLUMNS).where(
    c.id == bindparam("todo_id"),
    c.user_id == bindparam("user_id"),
    c.deleted_at.is_(None),
)
_GET_LIVE_COMPILED = _GET_LIVE.compile(dialect=asyncpg_dialect())
assert _GET_LIVE_COMPILED.positiontup == ["todo_id", "user_id"]
GET_LIVE_SQL = str(_GET_LIVE_COMPILED)


def todo_of(row: Sequence[Any]) -> Todo:
    return Todo(*row)


def _to_todo(row: Sequence[Any] | None) -> Todo | None:
    return None if row is None else todo_of(row)


def _own_live(todo_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(c.id == todo_id, c.user_id == user_id, c.deleted_at.is_(None))


def _own_live_at(
    todo_id: uuid.UUID, user_id: uuid.UUID, expected_version: int | None
) -> ColumnElement[bool]:
    """:func:`_own_live`, and at ``expected_version`` when one is given (If-Match)."""
    condition = _own_live(todo_id, user_id)
    if expected_version is None:
        return condition
    return and_(condition, c.version == expected_version)


async def fetch_live(
    driver: asyncpg.Connection, user_id: uuid.UUID, todo_id: uuid.UUID
) -> Todo | None:
    """The user's live todo ``todo_id``, or None, in one prepared statement."""
    return _to_todo(await driver.fetchrow(GET_LIVE_SQL, todo_id, user_id))


async def get(session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID) -> Todo | None:
    """:func:`fetch_live` inside the session's transaction."""
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    try:
        return await fetch_live(driver, user_id, todo_id)
    except Exception as exc:
        # Anything but an error answered by the server (a lost connection, or asyncpg
        # caught mid-way by one) leaves the connection unusable: have the pool replace it.
        if driver.is_closed() or not isinstance(exc, asyncpg.PostgresError):
            await connection.invalidate(exc)
        raise


async def live_version(session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID) -> int | None:
    """The current version of a live todo of this user (None when there is none)."""
    stmt = select(c.version).where(_own_live(todo_id, user_id))
    return cast(int | None, await session.scalar(stmt))


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
    session: AsyncSession, user_id: uuid.UUID, done_id: uuid.UUID, due_at: datetime
) -> Todo | None:
    """Create the occurrence after todo ``done_id``, due at ``due_at``: a pending copy of its
    title, description, priority, tags and series, with the user's next number. None (and
    no number used) when that todo already has its next occurrence.

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
        )
        .select_from(todos.join(next_number, true()))
        .where(c.id == done_id, c.user_id == user_id)
    )
    columns = ["id", "user_id", "number", *copied, "series_start", "recurred_from", "due_at"]
    stmt = (
        pg_insert(todos)
        .add_cte(next_number)
        .from_select(columns, source)
        .on_conflict_do_nothing(
            index_elements=[c.recurred_from], index_where=c.recurred_from.is_not(None)
        )
        .returning(*TODO_COLUMNS)
    )
    return _to_todo((await session.execute(stmt)).first())


async def lock_live(
    session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID
) -> tuple[Todo, datetime | None] | None:
    """The live todo and its series' start, locked until the transaction ends (None: none)."""
    stmt = (
        select(*TODO_COLUMNS, c.series_start).where(_own_live(todo_id, user_id)).with_for_update()
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (todo_of(row[:-1]), row[-1])


@dataclass(frozen=True)
class Updated:
    todo: Todo
    changed: bool  # some value really changed
    completed_now: bool  # this transaction completed it
    series_start: datetime | None


async def update_live(
    session: AsyncSession,
    user_id: uuid.UUID,
    todo_id: uuid.UUID,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Updated | None:
    """Set ``changes`` (column -> value) on a live todo, or None when no live todo matches.

    ``version`` and ``updated_at`` move only when a value really changes, so completing a
    completed todo is a no-op. Changing ``status`` sets or clears ``completed_at``. With
    ``expected_version`` the row changes only if its version still equals it.
    """
    assert changes, "nothing to update"
    values: dict[str, Any] = dict(changes)
    changed = or_(*(c[name].is_distinct_from(value) for name, value in changes.items()))
    if "status" in changes:
        values["completed_at"] = (
            case((c.status == "completed", c.completed_at), else_=func.now())
            if changes["status"] == "completed"
            else None
        )
    values["version"] = case((changed, c.version + 1), else_=c.version)
    values["updated_at"] = case((changed, func.now()), else_=c.updated_at)
    condition = _own_live_at(todo_id, user_id, expected_version)
    # now() is the transaction's start time: updated_at (completed_at) equals it only if
    # this transaction changed (completed) the row.
    stmt = (
        update(todos)
        .where(condition)
        .values(values)
        .returning(
            *TODO_COLUMNS,
            c.updated_at == func.now(),
            func.coalesce(c.completed_at == func.now(), False),
            c.series_start,
        )
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    *columns, changed_now, completed_now, series_start = row
    return Updated(todo_of(columns), bool(changed_now), bool(completed_now), series_start)


async def soft_delete(
    session: AsyncSession,
    user_id: uuid.UUID,
    todo_id: uuid.UUID,
    expected_version: int | None = None,
) -> Todo | None:
    """Mark a live todo deleted; None when no live todo (at that version) matches."""
    condition = _own_live_at(todo_id, user_id, expected_version)
    stmt = (
        update(todos)
        .where(condition)
        .values(deleted_at=func.now(), updated_at=func.now(), version=c.version + 1)
        .returning(*TODO_COLUMNS)
    )
    return _to_todo((await session.execute(stmt)).first())


async def restore(session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID) -> Todo | None:
    """Bring back a soft-deleted todo of the user (None when there is no such todo)."""
    stmt = (
        update(todos)
        .where(c.id == todo_id, c.user_id == user_id, c.deleted_at.is_not(None))
        .values(deleted_at=None, updated_at=func.now(), version=c.version + 1)
        .returning(*TODO_COLUMNS)
    )
    return _to_todo((await session.execute(stmt)).first())
