"""The todo tools of the MCP server: what each does, as calls to the todos service functions.

The tool contract is the one of the todo-chatbot specification the product descends from
(``add_task``, ``list_tasks``, ``complete_task``, ...), extended. A task is named by its
per-user number, ``task_id`` ("task 3"); results carry it with the task's other fields and,
for a change, ``status`` = what was done (``"completed"``) and ``task_status`` = the task's
own state afterwards. Every call acts as the :class:`Caller` (the token's subject) in one
unit of work of its own; a number that is not the caller's is "no task number 7", exactly
like a missing one. Refusals raise :class:`ToolError`: the client gets a tool result with
``isError`` and a sentence a model can act on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

import msgspec
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos import recurring, service
from services.todos.schemas import Todo, TodoCreate, TodoFilters, TodoUpdate
from shared.errors import describe
from shared.input_checks import INSTANT_RANGE, converts_to_utc

Action = Literal["created", "completed", "reopened", "deleted", "restored", "updated", "skipped"]
State = Literal["pending", "completed"]
Priority = Literal["low", "medium", "high", "urgent"]


class TaskItem(BaseModel):
    """A task as ``list_tasks`` and ``find_tasks`` list it."""

    task_id: int  # the per-user number ("task 3")
    id: str  # the task's uuid, as the REST API names it
    title: str
    description: str | None
    status: State
    priority: Priority
    due_at: str | None  # ISO 8601, UTC
    tags: list[str]
    recurrence: str | None  # the RFC 5545 rule it repeats by
    time_zone: str | None  # the zone a repeating task repeats in
    remind_at: str | None  # when its reminder fires (ISO 8601, UTC)
    remind_before: str | None  # the reminder as a duration before due_at (PT30M)


class TaskChange(BaseModel):
    """A task after a tool changed it: ``status`` says what was done."""

    task_id: int
    id: str
    status: Action
    title: str
    description: str | None
    priority: Priority
    due_at: str | None
    tags: list[str]
    recurrence: str | None
    time_zone: str | None
    remind_at: str | None
    remind_before: str | None
    task_status: State  # the task's own state afterwards
    # Completing a repeating task: its next occurrence (number and due date), if any.
    next_task_id: int | None = None
    next_due_at: str | None = None


class TaskList(BaseModel):
    """One page of tasks; with ``has_more``, ``list_tasks(cursor=next_cursor)`` gives the rest."""

    tasks: list[TaskItem]
    count: int
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class Caller:
    """Who calls, with what scopes, and in which time zone a time without offset is read."""

    user_id: str
    scopes: frozenset[str]
    zone: tzinfo = UTC
    zone_name: str | None = None  # X-Timezone: the default zone of a series it starts

    def check(self, scope: str, user_id: str | None) -> None:
        if user_id is not None and user_id != self.user_id:
            # The specification's tools take a user id; only the caller's own is accepted.
            raise ToolError("user_id must be your own user id (or left out)")
        if scope not in self.scopes:
            raise ToolError(f"this token lacks the {scope} scope")


UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def item(todo: Todo) -> TaskItem:
    return TaskItem(
        task_id=todo.number,
        id=str(todo.id),
        title=todo.title,
        description=todo.description,
        status=todo.status,
        priority=todo.priority,
        due_at=_iso(todo.due_at),
        tags=todo.tags,
        recurrence=todo.recurrence,
        time_zone=todo.time_zone,
        remind_at=_iso(todo.remind_at),
        remind_before=todo.remind_before,
    )


def change(todo: Todo, action: Action) -> TaskChange:
    listed = item(todo).model_dump()
    return TaskChange(**{**listed, "status": action, "task_status": todo.status})


class TaskTools:
    """The tools' bodies; each call is one unit of work of the service's database plugin
    (committed when the call succeeds, else rolled back)."""

    def __init__(self, unit_of_work: UnitOfWork) -> None:
        self.unit_of_work = unit_of_work

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        async with _refusals(), self.unit_of_work() as session:
            yield session

    async def add(self, caller: Caller, fields: dict[str, Any]) -> TaskChange:
        data = _convert(_in_zone(fields, caller.zone), TodoCreate)
        async with self._session() as session:
            todo = await service.create_todo(
                session, caller.user_id, data, header_zone=caller.zone_name
            )
        return change(todo, "created")

    async def list(
        self, caller: Caller, filters: dict[str, Any], cursor: str | None, limit: int
    ) -> TaskList:
        query = _convert(_in_zone(filters, caller.zone), TodoFilters)
        async with self._session() as session:
            # Oldest first: the order of the numbers people call their tasks by.
            page = await service.list_todos(
                session, caller.user_id, query, sort="created_at", cursor=cursor, limit=limit
            )
        tasks = [item(todo) for todo in page.items]
        return TaskList(
            tasks=tasks,
            count=len(tasks),
            has_more=page.next_cursor is not None,
            next_cursor=page.next_cursor,
        )

    async def act(self, caller: Caller, number: int, action: Action) -> TaskChange:
        """complete / reopen / delete / restore / skip task ``number``."""
        async with self._session() as session:
            todo = await _by_number(session, caller, number, deleted=action == "restored")
            if todo is None:
                if action == "restored" and await _by_number(session, caller, number):
                    raise ToolError(f"task {number} is not deleted")
                raise ToolError(f"no task number {number}")
            if action == "completed":
                todo = await service.complete_todo(session, caller.user_id, todo.id)
                following = await recurring.next_occurrence(session, caller.user_id, todo.id)
                if following is not None:
                    result = change(todo, action)
                    result.next_task_id = following.number
                    result.next_due_at = _iso(following.due_at)
                    return result
            elif action == "reopened":
                todo = await service.reopen_todo(session, caller.user_id, todo.id)
            elif action == "deleted":
                await service.delete_todo(session, caller.user_id, todo.id)
            elif action == "skipped":
                todo = await service.skip_todo(session, caller.user_id, todo.id)
            else:
                todo = await service.restore_todo(session, caller.user_id, todo.id)
        return change(todo, action)

    async def update(self, caller: Caller, number: int, fields: dict[str, Any]) -> TaskChange:
        if not fields:
            raise ToolError(
                "nothing to change: give a title, description, priority, due_at or tags"
            )
        data = _convert(_in_zone(fields, caller.zone), TodoUpdate)
        async with self._session() as session:
            todo = await _by_number(session, caller, number)
            if todo is None:
                raise ToolError(f"no task number {number}")
            todo = await service.update_todo(
                session, caller.user_id, todo.id, data, header_zone=caller.zone_name
            )
        return change(todo, "updated")


async def _by_number(
    session: AsyncSession, caller: Caller, number: int, *, deleted: bool = False
) -> Todo | None:
    filters = TodoFilters(number=number, deleted=deleted)
    page = await service.list_todos(session, caller.user_id, filters, limit=1)
    return page.items[0] if page.items else None


@asynccontextmanager
async def _refusals() -> AsyncIterator[None]:
    """A refusal of the service (its 4xx errors, a database outage) as a tool error carrying
    the message the REST API would give; a defect is left to the SDK (a generic tool error,
    logged)."""
    try:
        yield
    except ToolError:
        raise
    except Exception as exc:
        status, _, message, details, _ = describe(exc)
        if status >= 500 and status not in (502, 503, 504):
            raise
        fields = "; ".join(f"{f['key']} {f['message']}" for f in details.get("fields", []))
        raise ToolError(fields or message) from exc


def _convert(fields: dict[str, Any], struct: type[Any]) -> Any:
    """The REST API's own input struct, so a tool accepts exactly what the API accepts."""
    try:
        return msgspec.convert(fields, struct)
    except msgspec.ValidationError as exc:
        raise ToolError(f"invalid arguments: {exc}") from None


def _in_zone(fields: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    """Times without an offset are the caller's wall clock; every time must convert to UTC."""
    read: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, datetime):
            value = value if value.tzinfo else value.replace(tzinfo=zone)
            if not converts_to_utc(value):
                raise ToolError(f"{name} {INSTANT_RANGE}")
        read[name] = value
    return read
