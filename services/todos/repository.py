"""The SQL of the todos service.

Every statement is scoped to one user and, except :func:`restore` and the trash listing
(``TodoFilters.deleted``), to live rows (``deleted_at IS NULL``), so isolation and soft
deletion cannot be forgotten by a caller.
Statements use the Core table (not ORM entities): one round trip each, rows come back in
the field order of :class:`~services.todos.schemas.Todo`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos.models import TodoModel, UserCounter
from services.todos.schemas import Todo, TodoFilters

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
    c.created_at,
    c.updated_at,
    c.completed_at,
    c.version,
)

INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}

# The sort expressions are never NULL, so (expression, id) is a total order for keysets.
SORT_EXPRESSIONS: dict[str, ColumnElement[Any]] = {
    "created_at": c.created_at,
    "due_at": func.coalesce(c.due_at, INFINITY),  # no due date sorts after every date
    "priority": case(PRIORITY_RANK, value=c.priority, else_=-1),
    "title": c.title,
}

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


def _todo(row: Sequence[Any]) -> Todo:
    return Todo(*row)


def _to_todo(row: Sequence[Any] | None) -> Todo | None:
    return None if row is None else _todo(row)


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


async def insert_todo(session: AsyncSession, user_id: uuid.UUID, values: Mapping[str, Any]) -> Todo:
    """Insert a todo with the user's next number, in one statement.

    The number comes from an upsert on the user's counter row in the same statement: the
    row lock it takes serialises concurrent creates of one user until their commit, and
    the counter only ever grows, so numbers are neither duplicated nor reused.
    """
    if values.get("status") == "completed":
        values = {**values, "completed_at": func.now()}
    next_number = (
        pg_insert(counters)
        .values(user_id=user_id, last_number=1)
        .on_conflict_do_update(
            index_elements=[counters.c.user_id],
            set_={"last_number": counters.c.last_number + 1},
        )
        .returning(counters.c.last_number)
        .cte("next_number")
    )
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
    return _todo((await session.execute(stmt)).one())


async def update_live(
    session: AsyncSession,
    user_id: uuid.UUID,
    todo_id: uuid.UUID,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> tuple[Todo, bool] | None:
    """Set ``changes`` (column -> value) on a live todo: (the todo, whether it changed), or
    None when no live todo matches.

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
    # now() is the transaction's start time: updated_at equals it only if this row changed.
    stmt = (
        update(todos)
        .where(condition)
        .values(values)
        .returning(*TODO_COLUMNS, (c.updated_at == func.now()).label("changed"))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (_todo(row[:-1]), bool(row[-1]))


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


def sort_key_value(sort_field: str, todo: Todo) -> Any:
    """The value of the sort expression for ``todo`` (what a cursor carries)."""
    if sort_field == "priority":
        return PRIORITY_RANK[todo.priority]
    return getattr(todo, sort_field)


def _cursor_bound(sort_field: str, value: Any) -> ColumnElement[Any]:
    if sort_field == "due_at" and value is None:
        return INFINITY
    return literal(value, SORT_EXPRESSIONS[sort_field].type)


async def list_page(
    session: AsyncSession,
    user_id: uuid.UUID,
    filters: TodoFilters,
    *,
    sort_field: str,
    descending: bool,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> Sequence[Todo]:
    """Up to ``limit`` todos in sort order, starting after the ``(value, id)`` keyset."""
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
    result = await session.execute(stmt.limit(limit))
    return [_todo(row) for row in result]


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
    return stmt


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
