"""HTTP routes of the todos service: ``/api/v1/todos``.

The caller is ``request.user`` (the token's subject, set by the bearer middleware). GET of
one todo answers with a strong ``ETag: "<version>"`` and honours ``If-None-Match`` (304);
writes honour ``If-Match`` (``"3"`` or ``W/"3"``; stale -> 412 VERSION_CONFLICT).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from services.todos import service
from services.todos.pagination import DEFAULT_LIMIT, DEFAULT_SORT, MAX_CURSOR_LENGTH, MAX_LIMIT
from services.todos.schemas import (
    MAX_NUMBER,
    NO_CONTROL,
    Priority,
    SortKey,
    Status,
    Todo,
    TodoCreate,
    TodoFilters,
    TodoPage,
    TodoUpdate,
)
from shared.errors import NotFound, VersionConflict, invalid
from shared.openapi import raises
from shared.platform import Readers, Session

AuthRequest = Request[str, Any, Any]
TodoId = Annotated[str, PathParameter(description="The todo's id (a UUID)")]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="if-match", description='Only change the todo if its ETag is one of these ("3")'
    ),
]
TimeZoneHeader = Annotated[
    str | None,
    HeaderParameter(
        name="x-timezone",
        description="The zone a recurring todo repeats in when time_zone is left out "
        "(an unknown one: UTC)",
        required=False,
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="if-none-match", description="304 when the ETag is one of these"),
]
BASE_PATH = "/api/v1/todos"
# A todo named in the path: missing (or another user's), or changed since If-Match's version.
ONE_TODO = raises(NotFound)
CONDITIONAL_WRITE = raises(NotFound, VersionConflict)


class TodoController(Controller):
    path = BASE_PATH
    tags = ["todos"]

    @post("/", status_code=201, summary="Create a todo")
    async def create(
        self,
        request: AuthRequest,
        session: Session,
        data: JSONBody[TodoCreate],
        x_timezone: TimeZoneHeader = None,
    ) -> Response[Todo]:
        todo = await service.create_todo(session, request.user, data, header_zone=x_timezone)
        return _with_etag(todo, status_code=201, location=f"{BASE_PATH}/{todo.id}")

    @get("/", summary="List todos (filtered, sorted, cursor-paginated)")
    async def list_todos(
        self,
        request: AuthRequest,
        session: Session,
        status: FromQuery[Status | None] = None,
        priority: Annotated[list[Priority] | None, QueryParameter(description="any of")] = None,
        tag: Annotated[list[str] | None, QueryParameter(description="carries all of")] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=200, pattern=NO_CONTROL, description="in the title or description"
            ),
        ] = None,
        due_before: Annotated[datetime | None, QueryParameter(description="due_at < it")] = None,
        due_after: Annotated[datetime | None, QueryParameter(description="due_at >= it")] = None,
        overdue: Annotated[
            bool | None, QueryParameter(description="true: pending and due before now")
        ] = None,
        recurring: Annotated[
            bool | None, QueryParameter(description="true: with a recurrence; false: without")
        ] = None,
        number: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_NUMBER, description="the todo with this per-user number"),
        ] = None,
        deleted: Annotated[
            bool, QueryParameter(description="true: list the trash (deleted, restorable todos)")
        ] = False,
        sort: Annotated[SortKey, QueryParameter(description="'-' for descending")] = DEFAULT_SORT,
        cursor: Annotated[str | None, QueryParameter(max_length=MAX_CURSOR_LENGTH)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> TodoPage:
        if tag and not all(re.match(NO_CONTROL, value) for value in tag):
            raise invalid("tag", "must not contain control characters")
        filters = TodoFilters(
            status=status,
            priority=priority,
            tags=tag,
            q=q,
            due_before=due_before,
            due_after=due_after,
            overdue=overdue,
            recurring=recurring,
            number=number,
            deleted=deleted,
        )
        return await service.list_todos(
            session, request.user, filters, sort=sort, cursor=cursor, limit=limit
        )

    @get(
        "/{todo_id:str}",
        summary="Get a todo",
        raises=ONE_TODO,
        responses={304: ResponseSpec(None, description="Not modified: If-None-Match has its ETag")},
    )
    async def get_todo(
        self,
        request: AuthRequest,
        readers: Readers,
        todo_id: TodoId,
        if_none_match: IfNoneMatch = None,
    ) -> Response[Todo]:
        todo = await service.read_todo(readers, request.user, todo_id)
        if if_none_match and _matches(if_none_match, todo.version):
            not_modified: Response[Any] = Response(
                content=b"", status_code=304, headers={"ETag": todo.etag}
            )
            return not_modified
        return _with_etag(todo)

    @patch("/{todo_id:str}", summary="Change some fields of a todo", raises=CONDITIONAL_WRITE)
    async def update_todo(
        self,
        request: AuthRequest,
        session: Session,
        todo_id: TodoId,
        data: JSONBody[TodoUpdate],
        if_match: IfMatch = None,
        x_timezone: TimeZoneHeader = None,
    ) -> Response[Todo]:
        expected = await _expected_version(if_match, session, request.user, todo_id)
        todo = await service.update_todo(
            session,
            request.user,
            todo_id,
            data,
            expected_version=expected,
            header_zone=x_timezone,
        )
        return _with_etag(todo)

    @delete(
        "/{todo_id:str}",
        status_code=204,
        summary="Delete a todo (soft; restorable)",
        raises=CONDITIONAL_WRITE,
    )
    async def delete_todo(
        self, request: AuthRequest, session: Session, todo_id: TodoId, if_match: IfMatch = None
    ) -> None:
        expected = await _expected_version(if_match, session, request.user, todo_id)
        await service.delete_todo(session, request.user, todo_id, expected_version=expected)

    @post(
        "/{todo_id:str}/complete",
        status_code=200,
        summary="Mark a todo completed",
        raises=CONDITIONAL_WRITE,
    )
    async def complete_todo(
        self, request: AuthRequest, session: Session, todo_id: TodoId, if_match: IfMatch = None
    ) -> Response[Todo]:
        expected = await _expected_version(if_match, session, request.user, todo_id)
        todo = await service.complete_todo(
            session, request.user, todo_id, expected_version=expected
        )
        return _with_etag(todo)

    @post(
        "/{todo_id:str}/skip",
        status_code=200,
        summary="Move a recurring todo to its next occurrence without completing it",
        raises=CONDITIONAL_WRITE,
    )
    async def skip_todo(
        self, request: AuthRequest, session: Session, todo_id: TodoId, if_match: IfMatch = None
    ) -> Response[Todo]:
        expected = await _expected_version(if_match, session, request.user, todo_id)
        todo = await service.skip_todo(session, request.user, todo_id, expected_version=expected)
        return _with_etag(todo)

    @post(
        "/{todo_id:str}/reopen",
        status_code=200,
        summary="Mark a todo pending again",
        raises=CONDITIONAL_WRITE,
    )
    async def reopen_todo(
        self, request: AuthRequest, session: Session, todo_id: TodoId, if_match: IfMatch = None
    ) -> Response[Todo]:
        expected = await _expected_version(if_match, session, request.user, todo_id)
        todo = await service.reopen_todo(session, request.user, todo_id, expected_version=expected)
        return _with_etag(todo)

    @post(
        "/{todo_id:str}/restore",
        status_code=200,
        summary="Bring back a deleted todo",
        raises=ONE_TODO,
    )
    async def restore_todo(
        self, request: AuthRequest, session: Session, todo_id: TodoId
    ) -> Response[Todo]:
        return _with_etag(await service.restore_todo(session, request.user, todo_id))


def _with_etag(
    todo: Todo, *, status_code: int = 200, location: str | None = None
) -> Response[Todo]:
    headers = {"ETag": todo.etag}
    if location:
        headers["Location"] = location
    return Response(todo, status_code=status_code, headers=headers)


def _entity_tags(header: str) -> list[str]:
    """The opaque parts of an If-Match / If-None-Match list (weakness ignored), or ["*"]."""
    tags = []
    for item in header.split(","):
        tag = item.strip().removeprefix("W/").strip()
        if tag == "*":
            return ["*"]
        tags.append(tag.strip('"'))
    return tags


def _matches(header: str, version: int) -> bool:
    tags = _entity_tags(header)
    return tags == ["*"] or str(version) in tags


async def _expected_version(
    header: str | None, session: AsyncSession, user_id: str, todo_id: str
) -> int | None:
    """The version an ``If-Match`` header demands (None: no condition); 412 if none can hold."""
    if header is None:
        return None
    tags = _entity_tags(header)
    if tags == ["*"]:
        return None  # any current version; a missing todo is still 404
    versions = {int(tag) for tag in tags if tag.isascii() and tag.isdigit() and len(tag) < 10}
    if len(versions) == 1:
        return versions.pop()  # the write itself checks it, atomically
    current = await service.get_todo(session, user_id, todo_id)
    if current.version not in versions:
        raise service.version_conflict(current.version)
    return current.version
