"""The todos service's MCP server: the todo tools, as any MCP client sees them.

Built with the official SDK (``mcp``) and served by :class:`shared.platform.McpPlugin` at
``/mcp`` (Streamable HTTP, stateless, JSON responses). Each tool's signature is its input
schema, its return type its output schema (structured content, and the same JSON as text),
and its docstring the description a model reads. The service's bearer middleware has
verified the token before a call gets here; the tool reads the caller from it and checks
the scope the tool needs (``todos:read`` to look, ``todos:write`` to change).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server import CacheHint, MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from services.todos.schemas import MAX_NUMBER
from services.todos.task_tools import (
    Caller,
    Priority,
    TaskChange,
    TaskList,
    TaskTools,
    UnitOfWork,
)
from shared.platform.mcp import StrictServer
from shared.scopes import TODOS_READ, TODOS_WRITE
from shared.tokens import AccessClaims

INSTRUCTIONS = """The user's todo list. Tasks are named by their number, as the user says \
it ("task 3" is task_id 3). To act on a task named by its words ("the meeting task"), \
call find_tasks first; if several match, ask which one. Times are ISO 8601; a time \
without an offset is in the user's time zone."""

TaskId = Annotated[
    int,
    Field(
        ge=1, le=MAX_NUMBER, description='The task\'s number, as the user says it ("task 3" is 3)'
    ),
]
UserId = Annotated[
    str | None,
    Field(description="Optional, for compatibility: your own user id. Any other id is refused."),
]
Title = Annotated[str, Field(description="1..255 characters", min_length=1, max_length=255)]
Description = Annotated[str | None, Field(description="Up to 10000 characters", max_length=10000)]
Tags = Annotated[list[str] | None, Field(description="Up to 20 tags of 1..50 characters")]
When = Annotated[
    datetime | None,
    Field(description="ISO 8601; without an offset it is the user's local time"),
]
TOOL_LIST_TTL_MS = 300_000  # a new release may bring new tools
StatusFilter = Literal["all", "pending", "completed"]
NumberAction = Literal["completed", "reopened", "deleted", "restored", "skipped"]  # by task_id
Recurrence = Annotated[
    str | None,
    Field(
        max_length=500,
        description=(
            "How the task repeats: an RFC 5545 RRULE body (no DTSTART). FREQ is DAILY, "
            "WEEKLY, MONTHLY or YEARLY; with INTERVAL (every n), BYDAY (MO,TU,...; -1FR is "
            "the last Friday), BYMONTHDAY, BYMONTH, COUNT or UNTIL (20270630T000000Z). "
            "Examples: every Monday FREQ=WEEKLY;BYDAY=MO, every weekday "
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR, every 2 weeks FREQ=WEEKLY;INTERVAL=2, the 1st "
            "of each month FREQ=MONTHLY;BYMONTHDAY=1. A repeating task needs due_at, its "
            "first occurrence; completing it creates the next one."
        ),
    ),
]
RemindBefore = Annotated[
    str | None,
    Field(
        max_length=32,
        description="A reminder this long before due_at, as an ISO 8601 duration: PT30M, "
        "PT2H, P1D. Needs due_at; a repeating task's reminder repeats with it.",
    ),
]
RemindAt = Annotated[
    datetime | None,
    Field(description="A reminder at this moment (ISO 8601, in the future), instead"),
]
TimeZone = Annotated[
    str | None,
    Field(
        max_length=64,
        description="IANA zone the task repeats in (Europe/Berlin); default the user's zone",
    ),
]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# Doing it twice leaves the task as doing it once (a completed task stays completed).
IDEMPOTENT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def caller_of(ctx: Context[TaskTools, Any], scope: str, user_id: str | None) -> Caller:
    """The caller the service's bearer middleware verified, allowed ``scope``."""
    request = ctx.request_context.request
    claims = request.scope.get("auth") if request is not None else None
    if not isinstance(claims, AccessClaims):  # the middleware guards /mcp: never expected
        raise ToolError("not authenticated")
    headers = ctx.headers or {}
    caller = Caller(claims.user_id, claims.scopes, _zone(headers), headers.get("x-timezone"))
    caller.check(scope, user_id)
    return caller


def _zone(headers: Any) -> tzinfo:
    name = headers.get("x-timezone")
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolError("X-Timezone must be an IANA time zone name such as Europe/Paris") from None


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def create_mcp_server(unit_of_work: UnitOfWork) -> MCPServer[TaskTools]:
    """The server; each tool call runs in a ``unit_of_work()`` of the service's database."""

    @asynccontextmanager
    async def tools(_: MCPServer[TaskTools]) -> AsyncIterator[TaskTools]:
        yield TaskTools(unit_of_work)

    server: StrictServer[TaskTools] = StrictServer(
        "todos",
        title="Todo platform",
        instructions=INSTRUCTIONS,
        lifespan=tools,
        # The list is the same for every caller: clients may keep it (the chat service does).
        cache_hints={"tools/list": CacheHint(ttl_ms=TOOL_LIST_TTL_MS, scope="public")},
    )

    @server.tool(annotations=CREATE)
    async def add_task(
        ctx: Context[TaskTools, Any],
        title: Title,
        description: Description = None,
        priority: Priority | None = None,
        due_at: When = None,
        tags: Tags = None,
        recurrence: Recurrence = None,
        time_zone: TimeZone = None,
        remind_before: RemindBefore = None,
        remind_at: RemindAt = None,
        user_id: UserId = None,
    ) -> TaskChange:
        """Create a task for the user. Priority is medium unless given. A repeating task
        ("every monday at 9") takes recurrence, an RFC 5545 RRULE body without DTSTART:
        FREQ=DAILY, WEEKLY, MONTHLY or YEARLY, then optional parts joined by ";" (every
        Monday: FREQ=WEEKLY;BYDAY=MO; every 2 weeks: FREQ=WEEKLY;INTERVAL=2; the 1st of
        each month: FREQ=MONTHLY;BYMONTHDAY=1), and its first occurrence as due_at."""
        caller = caller_of(ctx, TODOS_WRITE, user_id)
        fields = _given(
            title=title, description=description, priority=priority, due_at=due_at, tags=tags,
            recurrence=recurrence, time_zone=time_zone, remind_before=remind_before,
            remind_at=remind_at,
        )  # fmt: skip
        return await ctx.request_context.lifespan_context.add(caller, fields)

    @server.tool(annotations=READ)
    async def list_tasks(
        ctx: Context[TaskTools, Any],
        status: StatusFilter = "all",
        priority: Priority | None = None,
        tag: Annotated[str | None, Field(description="Only tasks with this tag")] = None,
        due_before: When = None,
        due_after: When = None,
        task_id: Annotated[
            int | None, Field(ge=1, le=MAX_NUMBER, description="Only this task")
        ] = None,
        overdue: Annotated[
            bool | None, Field(description="true: only pending tasks already past due")
        ] = None,
        recurring: Annotated[
            bool | None, Field(description="true: only repeating tasks; false: one-off ones")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 50,
        cursor: Annotated[
            str | None, Field(max_length=2048, description="A next_cursor, for the next page")
        ] = None,
        user_id: UserId = None,
    ) -> TaskList:
        """List the user's tasks, oldest first, optionally narrowed. One page: when has_more
        is true, call again with cursor=next_cursor for the rest."""
        caller = caller_of(ctx, TODOS_READ, user_id)
        filters = _given(
            status=None if status == "all" else status,
            priority=[priority] if priority else None,
            tags=[tag] if tag else None,
            due_before=due_before,
            due_after=due_after,
            number=task_id,
            overdue=overdue,
            recurring=recurring,
        )
        return await ctx.request_context.lifespan_context.list(caller, filters, cursor, limit)

    @server.tool(annotations=READ)
    async def find_tasks(
        ctx: Context[TaskTools, Any],
        query: Annotated[
            str,
            Field(min_length=1, max_length=200, description="Words of the title or description"),
        ],
        status: StatusFilter = "all",
        user_id: UserId = None,
    ) -> TaskList:
        """Find the user's tasks whose title or description contains the text, to resolve
        "the meeting task" to its number."""
        caller = caller_of(ctx, TODOS_READ, user_id)
        filters = _given(q=query, status=None if status == "all" else status)
        return await ctx.request_context.lifespan_context.list(caller, filters, None, 100)

    def acting(action: NumberAction) -> Any:
        async def act(
            ctx: Context[TaskTools, Any], task_id: TaskId, user_id: UserId = None
        ) -> TaskChange:
            caller = caller_of(ctx, TODOS_WRITE, user_id)
            return await ctx.request_context.lifespan_context.act(caller, task_id, action)

        return act

    by_number: tuple[tuple[str, NumberAction, str, ToolAnnotations], ...] = (
        ("complete_task", "completed",
         "Mark a task as done. Completing a completed task changes nothing.", IDEMPOTENT),
        ("reopen_task", "reopened", "Mark a completed task as pending again.", IDEMPOTENT),
        ("delete_task", "deleted",
         "Delete a task. It goes to the trash: restore_task brings it back.", DELETE),
        ("restore_task", "restored",
         "Bring a deleted task back from the trash (to undo delete_task).", IDEMPOTENT),
        ("skip_task", "skipped",
         "Move a repeating task to its next occurrence without completing it.", CREATE),
    )  # fmt: skip
    for name, action, description, hints in by_number:
        server.add_tool(acting(action), name=name, description=description, annotations=hints)

    @server.tool(annotations=IDEMPOTENT)
    async def update_task(
        ctx: Context[TaskTools, Any],
        task_id: TaskId,
        title: Annotated[str | None, Field(min_length=1, max_length=255)] = None,
        description: Description = None,
        priority: Priority | None = None,
        due_at: When = None,
        tags: Annotated[
            list[str] | None, Field(description="Replaces all of the task's tags")
        ] = None,
        recurrence: Annotated[
            str | None,
            Field(
                max_length=500, description='A rule as for add_task, or "none" to stop repeating'
            ),
        ] = None,
        time_zone: TimeZone = None,
        remind_before: RemindBefore = None,
        remind_at: RemindAt = None,
        user_id: UserId = None,
    ) -> TaskChange:
        """Change some fields of a task; fields left out stay as they are. A reminder is set
        with remind_before or remind_at (either replaces the other). recurrence takes an
        RFC 5545 RRULE body as for add_task (FREQ=WEEKLY;BYDAY=MO, FREQ=DAILY;INTERVAL=2,
        FREQ=MONTHLY;BYMONTHDAY=1); a repeating task needs a due_at. recurrence="none" stops
        the task repeating."""
        caller = caller_of(ctx, TODOS_WRITE, user_id)
        fields = _given(
            title=title, description=description, priority=priority, due_at=due_at, tags=tags,
            recurrence=recurrence, time_zone=time_zone, remind_before=remind_before,
            remind_at=remind_at,
        )  # fmt: skip
        if fields.get("recurrence", "").lower() == "none":
            fields["recurrence"] = None  # the series stops
        return await ctx.request_context.lifespan_context.update(caller, task_id, fields)

    return server
