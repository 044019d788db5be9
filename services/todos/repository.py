"""The SQL of one todo of the todos service (the list's is in ``list_query``, the inserts in
``inserts``).

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
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos.durations import format_duration
from services.todos.models import TodoModel
from services.todos.schemas import Todo

todos = cast(Table, TodoModel.__table__)
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
    c.remind_before,  # seconds in the row, ISO 8601 text in the Todo (see todo_of)
    c.remind_at,
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


_REMIND_BEFORE = TODO_COLUMNS.index(c.remind_before)


def todo_of(row: Sequence[Any]) -> Todo:
    values = list(row)
    if (seconds := values[_REMIND_BEFORE]) is not None:
        values[_REMIND_BEFORE] = format_duration(seconds)
    return Todo(*values)


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


async def next_occurrence(
    session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID
) -> Todo | None:
    """The live occurrence the completion of ``todo_id`` created, if any."""
    stmt = select(*TODO_COLUMNS).where(
        c.recurred_from == todo_id, c.user_id == user_id, c.deleted_at.is_(None)
    )
    return _to_todo((await session.execute(stmt)).first())


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


async def lock_live(
    session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID
) -> tuple[Todo, datetime | None] | None:
    """The live todo and its series' start, locked until the transaction ends (None: none)."""
    stmt = (
        select(*TODO_COLUMNS, c.series_start).where(_own_live(todo_id, user_id)).with_for_update()
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (todo_of(row[:-1]), row[-1])


# ``reminded_at`` of a todo coming back (reopened, restored): armed again when its reminder
# is still ahead; one whose time passed meanwhile is not sent late.
_rearmed = case(
    (or_(c.remind_at.is_(None), c.remind_at > func.now()), None),
    else_=func.coalesce(c.reminded_at, func.now()),
)


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
    completed todo is a no-op. Changing ``status`` sets or clears ``completed_at``; reopening
    re-arms the reminder if its time is still ahead. With
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
        if changes["status"] == "pending" and "reminded_at" not in changes:
            values["reminded_at"] = case((c.status == "completed", _rearmed), else_=c.reminded_at)
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
    """Bring back a soft-deleted todo of the user (None when there is no such todo); its
    reminder is re-armed if its time is still ahead."""
    stmt = (
        update(todos)
        .where(c.id == todo_id, c.user_id == user_id, c.deleted_at.is_not(None))
        .values(deleted_at=None, updated_at=func.now(), version=c.version + 1, reminded_at=_rearmed)
        .returning(*TODO_COLUMNS)
    )
    return _to_todo((await session.execute(stmt)).first())
