"""What the todos API does, as plain async functions over an ``AsyncSession``.

Every function acts for one user: another user's todo is answered exactly like a missing
one (:class:`~shared.errors.NotFound`). Nothing here commits: the request's unit of work
(:class:`shared.platform.DatabasePlugin`) commits when the handler succeeds.

Ids may be given as ``uuid.UUID`` or as text; a todo id that is not a UUID is simply not
found, and a user id that is not a UUID is an invalid token. What recurrence adds to the
writes (completing a recurring todo creates its next occurrence) is in ``recurring``; what a
reminder adds (its effective time, re-arming it) in ``reminders``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

from msgspec import UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos import inserts, list_query, recurring, reminders, repository
from services.todos.models import OUTBOX
from services.todos.pagination import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    check_limit,
    keyset,
    parse_sort,
)
from services.todos.schemas import Todo, TodoCreate, TodoFilters, TodoPage, TodoUpdate
from shared.auth_middleware import user_id as user_uuid
from shared.errors import NotFound, VersionConflict, invalid
from shared.outbox import record
from shared.pagination import keyset_page
from shared.platform import ReadConnections

Id = uuid.UUID | str


def todo_uuid(todo_id: Id) -> uuid.UUID:
    if isinstance(todo_id, uuid.UUID):
        return todo_id
    try:
        return uuid.UUID(todo_id)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Todo not found") from None


async def create_todo(
    session: AsyncSession, user_id: Id, data: TodoCreate, *, header_zone: str | None = None
) -> Todo:
    """Create a todo; ``header_zone`` is the request's X-Timezone (a recurring todo's default
    zone)."""
    values: dict[str, Any] = {
        "title": data.title.strip(),
        "description": data.description,
        "status": data.status,
        "priority": data.priority,
        "due_at": _aware(data.due_at),
        "tags": _clean_tags(data.tags),
    }
    values.update(
        reminders.create_fields(
            values["due_at"], data.remind_before, _aware(data.remind_at), now=datetime.now(UTC)
        )
    )
    if data.time_zone is not None:
        values["time_zone"] = recurring.checked_zone(data.time_zone)
    if data.recurrence is not None:
        fields = recurring.start_fields(
            data.recurrence, data.time_zone, values["due_at"], header_zone
        )
        values.update(fields)
    owner = user_uuid(user_id)
    todo = await inserts.insert_todo(session, owner, values)
    await _record(session, "created", owner, todo)
    if todo.status == "completed" and todo.recurrence is not None:
        await _create_next(session, owner, todo, values["series_start"])
    return todo


async def list_todos(
    session: AsyncSession,
    user_id: Id,
    filters: TodoFilters | None = None,
    *,
    sort: str = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> TodoPage:
    """One page of the user's todos; ``next_cursor`` is None on the last page."""
    field, descending = parse_sort(sort)
    check_limit(limit)
    cursors = keyset(sort)
    after = cursors.after(cursor)
    filters = _clean_filters(filters or TodoFilters())
    owner = user_uuid(user_id)

    def fetch(n: int) -> Awaitable[Sequence[Todo]]:
        statement = list_query.page_statement(
            owner, filters, sort_field=field, descending=descending, after=after, limit=n
        )
        return list_query.list_page(session, statement)

    items, next_cursor = await keyset_page(
        fetch, limit, lambda last: cursors.cursor(list_query.sort_key_value(field, last), last.id)
    )
    return TodoPage(items=items, next_cursor=next_cursor)


async def get_todo(session: AsyncSession, user_id: Id, todo_id: Id) -> Todo:
    return _found(await repository.get(session, user_uuid(user_id), todo_uuid(todo_id)))


async def read_todo(readers: ReadConnections, user_id: Id, todo_id: Id) -> Todo:
    """:func:`get_todo` outside any transaction, on a raw pooled connection (the GET path)."""
    user, todo = user_uuid(user_id), todo_uuid(todo_id)
    async with readers.connection() as reader:
        return _found(await repository.fetch_live(reader, user, todo))


def _found(todo: Todo | None) -> Todo:
    if todo is None:
        raise NotFound("Todo not found")
    return todo


async def update_todo(
    session: AsyncSession,
    user_id: Id,
    todo_id: Id,
    data: TodoUpdate,
    *,
    expected_version: int | None = None,
    header_zone: str | None = None,
) -> Todo:
    """Change the fields present in ``data``; 412 when ``expected_version`` is stale.
    ``header_zone`` is the request's X-Timezone (the default zone of a series it starts)."""
    changes = data.changes()
    if isinstance(data.title, str):
        changes["title"] = data.title.strip()
    if not isinstance(data.tags, UnsetType):
        changes["tags"] = _clean_tags(data.tags)
    if not isinstance(data.due_at, UnsetType):
        changes["due_at"] = _aware(data.due_at)
    if not isinstance(data.remind_at, UnsetType):
        changes["remind_at"] = _aware(data.remind_at)
    if not changes:
        todo = await get_todo(session, user_id, todo_id)
        if expected_version is not None and todo.version != expected_version:
            raise version_conflict(todo.version)
        return todo
    if changes.keys() & {"recurrence", "time_zone", *reminders.REMINDER_FIELDS}:
        # The series' and the reminder's fields depend on the todo as it is: read it locked,
        # so it stays so.
        current, _ = await _locked(session, user_id, todo_id, expected_version)
        changes = recurring.patched_fields(current, changes, header_zone)
        changes = reminders.patched_fields(current, changes, now=datetime.now(UTC))
    return await _change(session, user_id, todo_id, changes, expected_version, "updated")


async def complete_todo(
    session: AsyncSession, user_id: Id, todo_id: Id, *, expected_version: int | None = None
) -> Todo:
    """Mark the todo completed (a completed todo is returned unchanged); a recurring todo's
    next occurrence is created with it."""
    changes = {"status": "completed"}
    return await _change(session, user_id, todo_id, changes, expected_version, "completed")


async def reopen_todo(
    session: AsyncSession, user_id: Id, todo_id: Id, *, expected_version: int | None = None
) -> Todo:
    """Mark the todo pending again (a pending todo is returned unchanged)."""
    changes = {"status": "pending"}
    return await _change(session, user_id, todo_id, changes, expected_version, "reopened")


async def skip_todo(
    session: AsyncSession, user_id: Id, todo_id: Id, *, expected_version: int | None = None
) -> Todo:
    """Move a pending recurring todo to its next occurrence (after its due date and now)."""
    current, series_start = await _locked(session, user_id, todo_id, expected_version)
    if current.recurrence is None:
        raise invalid(
            "todo_id", "does not recur: only a recurring todo can be skipped", source="path"
        )
    if current.status == "completed":
        raise invalid("todo_id", "is completed: its next occurrence exists already", source="path")
    now = datetime.now(UTC)
    due_at = recurring.next_due(current, series_start, now=now)
    if due_at is None:
        raise invalid("todo_id", "the series has no further occurrence", source="path")
    # The reminder moves with the due date (a relative one; an absolute one stays).
    changes = reminders.patched_fields(current, {"due_at": due_at}, now=now)
    return await _change(session, user_id, todo_id, changes, None, "updated")


async def delete_todo(
    session: AsyncSession, user_id: Id, todo_id: Id, *, expected_version: int | None = None
) -> None:
    """Soft delete: the todo vanishes from every read until it is restored."""
    owner, key = user_uuid(user_id), todo_uuid(todo_id)
    todo = await repository.soft_delete(session, owner, key, expected_version)
    if todo is None:
        raise await _why_unchanged(session, owner, key, expected_version)
    await _record(session, "deleted", owner, todo)


async def restore_todo(session: AsyncSession, user_id: Id, todo_id: Id) -> Todo:
    """Bring back a soft-deleted todo; NotFound when it is not deleted or not the user's."""
    owner = user_uuid(user_id)
    todo = await repository.restore(session, owner, todo_uuid(todo_id))
    if todo is None:
        raise NotFound("Todo not found")
    await _record(session, "restored", owner, todo)
    return todo


async def _change(
    session: AsyncSession,
    user_id: Id,
    todo_id: Id,
    changes: dict[str, Any],
    expected_version: int | None,
    verb: str,
) -> Todo:
    owner, key = user_uuid(user_id), todo_uuid(todo_id)
    result = await repository.update_live(session, owner, key, changes, expected_version)
    if result is None:
        raise await _why_unchanged(session, owner, key, expected_version)
    todo = result.todo
    if result.changed:  # completing a completed todo changes nothing and tells nobody
        await _record(session, verb, owner, todo)
    if result.completed_now and todo.recurrence is not None:
        await _create_next(session, owner, todo, result.series_start)
    return todo


async def _create_next(
    session: AsyncSession, owner: uuid.UUID, done: Todo, series_start: datetime | None
) -> None:
    """The next occurrence of ``done``, completed in this transaction, with its event."""
    created = await recurring.create_next(session, owner, done, series_start)
    if created is not None:
        await _record(session, "created", owner, created)


async def _locked(
    session: AsyncSession, user_id: Id, todo_id: Id, expected_version: int | None
) -> tuple[Todo, datetime | None]:
    """The live todo and its series' start, locked for this transaction (404, 412)."""
    found = await repository.lock_live(session, user_uuid(user_id), todo_uuid(todo_id))
    if found is None:
        raise NotFound("Todo not found")
    if expected_version is not None and found[0].version != expected_version:
        raise version_conflict(found[0].version)
    return found


async def _record(session: AsyncSession, verb: str, owner: uuid.UUID, todo: Todo) -> None:
    """Write the ``todos.todo.<verb>`` event into the outbox, in the change's transaction."""
    await record(session, OUTBOX, f"todos.todo.{verb}", todo, user_id=owner)


async def _why_unchanged(
    session: AsyncSession, user_id: uuid.UUID, todo_id: uuid.UUID, expected_version: int | None
) -> Exception:
    """After a write matched no row: the todo is missing, or its version moved on."""
    current = None
    if expected_version is not None:
        current = await repository.live_version(session, user_id, todo_id)
    return NotFound("Todo not found") if current is None else version_conflict(current)


def version_conflict(current_version: int) -> VersionConflict:
    return VersionConflict(
        "The todo was changed meanwhile; fetch it again and retry",
        details={"current_version": current_version},
        headers={"ETag": f'"{current_version}"'},
    )


def _aware(moment: datetime | None) -> datetime | None:
    """Timestamps without a zone are taken as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _clean_tags(tags: list[str]) -> list[str]:
    """Tags trimmed, duplicates dropped, first-seen order kept."""
    return list(dict.fromkeys(tag.strip() for tag in tags))


def _clean_filters(filters: TodoFilters) -> TodoFilters:
    q = filters.q.strip() if filters.q else None
    return TodoFilters(
        status=filters.status,
        priority=filters.priority,
        tags=[tag.strip() for tag in filters.tags] if filters.tags else None,
        q=q or None,
        due_before=_aware(filters.due_before),
        due_after=_aware(filters.due_after),
        number=filters.number,
        deleted=filters.deleted,
        overdue=filters.overdue,
        recurring=filters.recurring,
    )
