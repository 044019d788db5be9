"""The todos service functions against a real, freshly migrated Postgres database.

No mocks: each module gets its own database (created, migrated with the todos migrations,
dropped at the end) and every test works for new random users, so tests never see each
other's rows.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.todos import service as todo_service
from services.todos.schemas import Todo, TodoCreate, TodoFilters, TodoUpdate
from shared.errors import NotFound, ValidationFailed, VersionConflict
from shared.settings import REPO_ROOT
from tests.support.database import admin_execute, scratch_database
from tests.support.hostile import UNKNOWN_ID
from tests.support.unit_of_work import UnitsOfWork

MIGRATIONS = REPO_ROOT / "services" / "todos" / "migrations"
Sessions = async_sessionmaker[AsyncSession]
# Each call commits as the request's unit of work would.
service = UnitsOfWork(todo_service)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def todos_database_url() -> AsyncIterator[str]:
    """A new database holding only the todos schema, dropped after the module."""
    async with scratch_database("test_todos", MIGRATIONS) as url:
        yield url


@pytest.fixture(scope="module")
async def sessions(todos_database_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_engine(todos_database_url, pool_size=5, max_overflow=25)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def session(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def user() -> uuid.UUID:
    return uuid.uuid4()


async def add(
    session: AsyncSession, user_id: uuid.UUID, title: str = "A todo", **fields: Any
) -> Todo:
    return await service.create_todo(session, user_id, TodoCreate(title=title, **fields))


async def walk(
    session: AsyncSession, user_id: uuid.UUID, sort: str, limit: int, **filters: Any
) -> tuple[list[Todo], int]:
    """Every todo of the list, page by page; (todos, number of pages)."""
    todos: list[Todo] = []
    cursor = None
    for pages in range(1, 100):
        page = await service.list_todos(
            session, user_id, TodoFilters(**filters), sort=sort, cursor=cursor, limit=limit
        )
        todos += page.items
        if page.next_cursor is None:
            return todos, pages
        assert len(page.items) == limit
        cursor = page.next_cursor
    raise AssertionError("pagination does not end")


def titles(todos: list[Todo]) -> list[str]:
    return [todo.title for todo in todos]


# --- create and numbering --------------------------------------------------------------


async def test_create_fills_defaults(session, user):
    todo = await add(session, user, "Buy milk")
    assert (todo.number, todo.title, todo.status, todo.priority) == (
        1,
        "Buy milk",
        "pending",
        "medium",
    )
    assert (todo.description, todo.due_at, todo.tags, todo.completed_at) == (None, None, [], None)
    assert todo.version == 1
    assert todo.created_at == todo.updated_at
    assert todo.created_at.tzinfo is not None
    assert await service.get_todo(session, user, todo.id) == todo


async def test_create_cleans_its_input(session, user):
    todo = await add(
        session,
        user,
        "  Padded title  ",
        tags=["work", " work ", "home"],
        due_at=datetime(2030, 1, 2, 3, 4, 5),  # no zone: taken as UTC
        status="completed",
    )
    assert todo.title == "Padded title"
    assert todo.tags == ["work", "home"]
    assert todo.due_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert todo.completed_at is not None


async def test_numbers_count_per_user_and_are_never_reused(session, user):
    first, second, third = [await add(session, user, f"Task {i}") for i in range(3)]
    assert [first.number, second.number, third.number] == [1, 2, 3]

    await service.delete_todo(session, user, third.id)
    assert (await add(session, user)).number == 4
    await service.delete_todo(session, user, second.id)
    assert (await add(session, user)).number == 5
    assert (await service.restore_todo(session, user, second.id)).number == 2
    assert (await add(session, uuid.uuid4())).number == 1


async def test_concurrent_creates_number_one_to_twenty(sessions, user):
    async def create(i: int) -> int:
        async with sessions() as session:
            return (await add(session, user, f"Parallel {i}")).number

    numbers = await asyncio.gather(*(create(i) for i in range(20)))
    assert sorted(numbers) == list(range(1, 21))


# --- update ----------------------------------------------------------------------------


async def test_update_changes_only_the_given_fields(session, user):
    todo = await add(session, user, "Old", description="Keep me", priority="high", tags=["a"])
    updated = await service.update_todo(session, user, todo.id, TodoUpdate(title="New"))
    assert updated.title == "New"
    assert (updated.version, updated.updated_at > todo.updated_at) == (2, True)
    same = ("description", "priority", "tags", "status", "due_at", "created_at", "number")
    assert [getattr(updated, f) for f in same] == [getattr(todo, f) for f in same]


async def test_update_null_clears_and_absent_keeps(session, user):
    due = datetime(2030, 1, 1, tzinfo=UTC)
    todo = await add(session, user, "T", description="Remove me", due_at=due)
    cleared = await service.update_todo(session, user, todo.id, TodoUpdate(description=None))
    assert (cleared.description, cleared.due_at) == (None, due)
    cleared = await service.update_todo(session, user, todo.id, TodoUpdate(due_at=None))
    assert (cleared.description, cleared.due_at, cleared.version) == (None, None, 3)


async def test_update_from_json_distinguishes_null_from_absent(session, user):
    todo = await add(session, user, "T", description="Stay")
    patch = msgspec.json.decode(b'{"priority": "low"}', type=TodoUpdate)
    updated = await service.update_todo(session, user, todo.id, patch)
    assert (updated.priority, updated.description) == ("low", "Stay")
    patch = msgspec.json.decode(b'{"description": null}', type=TodoUpdate)
    assert (await service.update_todo(session, user, todo.id, patch)).description is None


async def test_update_without_a_change_keeps_the_version(session, user):
    todo = await add(session, user, "Same", priority="low")
    unchanged = TodoUpdate(title="Same", priority="low", tags=[], due_at=None, description=None)
    for patch in (TodoUpdate(), unchanged):
        assert await service.update_todo(session, user, todo.id, patch) == todo


async def test_status_change_sets_and_clears_completed_at(session, user):
    todo = await add(session, user)
    done = await service.update_todo(session, user, todo.id, TodoUpdate(status="completed"))
    assert done.status == "completed" and done.completed_at is not None
    retitled = await service.update_todo(session, user, todo.id, TodoUpdate(title="Renamed"))
    assert retitled.completed_at == done.completed_at
    again = await service.update_todo(session, user, todo.id, TodoUpdate(status="pending"))
    assert (again.status, again.completed_at, again.version) == ("pending", None, 4)


async def test_stale_version_is_a_conflict(session, user):
    todo = await add(session, user, "Original")
    second = await service.update_todo(
        session, user, todo.id, TodoUpdate(title="Second"), expected_version=1
    )
    assert second.version == 2
    with pytest.raises(VersionConflict) as raised:
        await service.update_todo(
            session, user, todo.id, TodoUpdate(title="Lost"), expected_version=1
        )
    assert raised.value.details == {"current_version": 2}
    with pytest.raises(VersionConflict):
        await service.update_todo(session, user, todo.id, TodoUpdate(), expected_version=1)
    with pytest.raises(VersionConflict):
        await service.complete_todo(session, user, todo.id, expected_version=1)
    with pytest.raises(VersionConflict):
        await service.delete_todo(session, user, todo.id, expected_version=1)
    assert await service.get_todo(session, user, todo.id) == second


# --- complete / reopen -----------------------------------------------------------------


async def test_complete_and_reopen_are_idempotent(session, user):
    todo = await add(session, user)
    done = await service.complete_todo(session, user, todo.id)
    assert (done.status, done.version) == ("completed", 2)
    assert done.completed_at is not None
    assert await service.complete_todo(session, user, todo.id) == done

    reopened = await service.reopen_todo(session, user, todo.id)
    assert (reopened.status, reopened.completed_at, reopened.version) == ("pending", None, 3)
    assert await service.reopen_todo(session, user, todo.id) == reopened


# --- delete / restore ------------------------------------------------------------------


async def test_soft_delete_hides_and_restore_brings_back(session, user):
    keep = await add(session, user, "Stays")
    gone = await add(session, user, "Goes")
    await service.delete_todo(session, user, gone.id)

    for action in (
        service.get_todo(session, user, gone.id),
        service.update_todo(session, user, gone.id, TodoUpdate(title="Ghost")),
        service.complete_todo(session, user, gone.id),
        service.reopen_todo(session, user, gone.id),
        service.delete_todo(session, user, gone.id),
    ):
        with pytest.raises(NotFound):
            await action
    assert titles((await service.list_todos(session, user)).items) == ["Stays"]

    restored = await service.restore_todo(session, user, gone.id)
    assert (restored.id, restored.number, restored.title) == (gone.id, 2, "Goes")
    assert restored.version == gone.version + 2  # deleted, then restored
    assert await service.get_todo(session, user, gone.id) == restored
    assert set(titles((await service.list_todos(session, user)).items)) == {"Stays", "Goes"}
    with pytest.raises(NotFound):
        await service.restore_todo(session, user, keep.id)  # not deleted


async def test_another_users_todo_is_not_found(session, user):
    todo = await add(session, user, "Mine")
    other = uuid.uuid4()
    for action in (
        service.get_todo(session, other, todo.id),
        service.update_todo(session, other, todo.id, TodoUpdate(title="Hijacked")),
        service.update_todo(
            session, other, todo.id, TodoUpdate(title="Hijacked"), expected_version=7
        ),
        service.complete_todo(session, other, todo.id),
        service.reopen_todo(session, other, todo.id),
        service.delete_todo(session, other, todo.id),
        service.delete_todo(session, other, todo.id, expected_version=1),
        service.restore_todo(session, other, todo.id),
    ):
        with pytest.raises(NotFound):
            await action

    await service.delete_todo(session, user, todo.id)
    with pytest.raises(NotFound):
        await service.restore_todo(session, other, todo.id)
    assert (await service.list_todos(session, other)).items == []
    assert (await service.restore_todo(session, user, todo.id)).title == "Mine"


@pytest.mark.parametrize("todo_id", ["not-a-uuid", "42", "", UNKNOWN_ID])
async def test_unknown_or_malformed_id_is_not_found(session, user, todo_id):
    with pytest.raises(NotFound):
        await service.get_todo(session, user, todo_id)
    with pytest.raises(NotFound):
        await service.restore_todo(session, user, todo_id)


async def test_a_dead_connection_is_replaced(todos_database_url, user):
    """GET runs on the driver connection; a connection killed under it must not be reused."""
    engine = create_async_engine(todos_database_url, pool_size=1, max_overflow=0)
    one_connection = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with one_connection() as session:
            todo = await add(session, user)
            raw = await (await session.connection()).get_raw_connection()
            pid = raw.driver_connection.get_server_pid()
        await admin_execute(f"SELECT pg_terminate_backend({pid})")
        async with one_connection() as session:
            # Which error depends on when asyncpg notices; the next request must not care.
            lost = (
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                asyncpg.ConnectionDoesNotExistError,
            )
            with pytest.raises(lost):
                await service.get_todo(session, user, todo.id)
        async with one_connection() as session:
            assert await service.get_todo(session, user, todo.id) == todo
    finally:
        await engine.dispose()


# --- filters ---------------------------------------------------------------------------


@pytest.fixture
async def seeded(session) -> uuid.UUID:
    owner = uuid.uuid4()
    await add(
        session, owner, "Buy GROCERIES", priority="high", tags=["home", "shopping"],
        due_at=datetime(2030, 1, 1, 9, tzinfo=UTC),
    )  # fmt: skip
    await add(
        session, owner, "Write report", description="Quarterly numbers for the Board",
        priority="urgent", tags=["work"], due_at=datetime(2030, 1, 3, 15, tzinfo=UTC),
    )  # fmt: skip
    call = await add(session, owner, "Call mom", priority="low", tags=["home"])
    await add(
        session, owner, "Gym", description="Leg day, then buy 100% protein_shake",
        tags=["health"], due_at=datetime(2030, 1, 2, 12, tzinfo=UTC),
    )  # fmt: skip
    await service.complete_todo(session, owner, call.id)
    gone = await add(session, owner, "Deleted buy", tags=["home"], priority="high")
    await service.delete_todo(session, owner, gone.id)
    await add(session, uuid.uuid4(), "Someone else's buy", tags=["home"])
    return owner


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"Buy GROCERIES", "Write report", "Call mom", "Gym"}),
        ({"status": "completed"}, {"Call mom"}),
        ({"status": "pending"}, {"Buy GROCERIES", "Write report", "Gym"}),
        ({"priority": ["high"]}, {"Buy GROCERIES"}),
        ({"priority": ["low", "urgent"]}, {"Call mom", "Write report"}),
        ({"tags": ["home"]}, {"Buy GROCERIES", "Call mom"}),
        ({"tags": ["home", "shopping"]}, {"Buy GROCERIES"}),
        ({"tags": ["nothing"]}, set()),
        ({"q": "groceries"}, {"Buy GROCERIES"}),
        ({"q": "BOARD"}, {"Write report"}),
        ({"q": "buy"}, {"Buy GROCERIES", "Gym"}),
        ({"q": "100%"}, {"Gym"}),
        ({"q": "1%0"}, set()),
        ({"q": "n_s"}, {"Gym"}),
        ({"q": "y_G"}, set()),
        ({"q": "\\"}, set()),
        ({"q": "   "}, {"Buy GROCERIES", "Write report", "Call mom", "Gym"}),
        ({"due_before": datetime(2030, 1, 2, tzinfo=UTC)}, {"Buy GROCERIES"}),
        ({"due_before": datetime(2030, 1, 2, 12, tzinfo=UTC)}, {"Buy GROCERIES"}),
        ({"due_after": datetime(2030, 1, 2, 12, tzinfo=UTC)}, {"Write report", "Gym"}),
        (
            {"due_after": datetime(2030, 1, 1, 10), "due_before": datetime(2030, 1, 3)},
            {"Gym"},
        ),
        ({"status": "pending", "tags": ["home"]}, {"Buy GROCERIES"}),
        ({"status": "pending", "priority": ["low"]}, set()),
    ],
)
async def test_filters(session, seeded, filters, expected):
    page = await service.list_todos(session, seeded, TodoFilters(**filters), limit=100)
    assert set(titles(page.items)) == expected


# --- sorting and pagination ------------------------------------------------------------

RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
FAR = datetime.max.replace(tzinfo=UTC)
SORT_KEYS = {
    "created_at": lambda t: (t.created_at, t.id),
    "due_at": lambda t: (t.due_at or FAR, t.id),
    "priority": lambda t: (RANK[t.priority], t.id),
    "title": lambda t: (t.title, t.id),
}
ALL_SORTS = [prefix + key for key in SORT_KEYS for prefix in ("", "-")]
# Ties in every sort key, and missing due dates, so keysets must break ties by id.
PAGE_SEED: list[dict[str, Any]] = [
    {"title": "task a", "priority": "high", "due_at": datetime(2030, 1, 2, tzinfo=UTC)},
    {"title": "task a", "priority": "low"},
    {"title": "task b", "priority": "high", "due_at": datetime(2030, 1, 1, tzinfo=UTC)},
    {"title": "task c", "priority": "urgent", "due_at": datetime(2030, 1, 2, tzinfo=UTC)},
    {"title": "task c", "priority": "low"},
    {"title": "task d", "priority": "medium", "due_at": datetime(2030, 1, 3, tzinfo=UTC)},
    {"title": "task e", "priority": "high"},
    {"title": "task e", "priority": "medium", "status": "completed"},
    {"title": "task f", "priority": "urgent", "due_at": datetime(2029, 12, 31, tzinfo=UTC)},
]


@pytest.fixture
async def paged(session) -> tuple[uuid.UUID, list[Todo]]:
    owner = uuid.uuid4()
    todos = [await add(session, owner, **fields) for fields in PAGE_SEED]
    # Two todos created in one transaction share created_at: the id breaks the tie.
    async with session.begin():
        for n, title in enumerate(("same time 1", "same time 2")):
            await session.execute(
                RAW_INSERT, {"user_id": owner, "title": title, "number": 100 + len(todos) + n}
            )
    todos += [await _fetch_by_title(session, owner, t) for t in ("same time 1", "same time 2")]
    return owner, todos


RAW_INSERT = text(
    "INSERT INTO todos.todos (id, user_id, number, title) "
    "VALUES (gen_random_uuid(), :user_id, :number, :title)"
)


async def _fetch_by_title(session: AsyncSession, owner: uuid.UUID, title: str) -> Todo:
    page = await service.list_todos(session, owner, TodoFilters(q=title), limit=1)
    return page.items[0]


@pytest.mark.parametrize("sort", ALL_SORTS)
async def test_sort_orders_by_key_then_id(session, paged, sort):
    owner, todos = paged
    field = sort.removeprefix("-")
    expected = sorted(todos, key=SORT_KEYS[field], reverse=sort.startswith("-"))
    page = await service.list_todos(session, owner, sort=sort, limit=100)
    assert [t.id for t in page.items] == [t.id for t in expected]
    assert page.next_cursor is None


@pytest.mark.parametrize("sort", ALL_SORTS)
async def test_pagination_walks_every_todo_exactly_once(session, paged, sort):
    owner, todos = paged
    in_one_page = (await service.list_todos(session, owner, sort=sort, limit=100)).items
    walked, pages = await walk(session, owner, sort, limit=2)
    assert [t.id for t in walked] == [t.id for t in in_one_page]
    assert len({t.id for t in walked}) == len(todos) == 11
    assert pages == 6


async def test_pagination_keeps_to_the_filters(session, paged):
    owner, _ = paged
    walked, pages = await walk(session, owner, "due_at", limit=2, q="task", status="pending")
    assert len(walked) == 8 and pages == 4
    assert all(t.status == "pending" for t in walked)


async def test_a_todo_created_meanwhile_does_not_shift_the_pages(session, user):
    for i in range(4):
        await add(session, user, f"Old {i}")
    first = await service.list_todos(session, user, limit=2)
    await add(session, user, "Newest")
    second = await service.list_todos(session, user, limit=2, cursor=first.next_cursor)
    assert titles(first.items + second.items) == ["Old 3", "Old 2", "Old 1", "Old 0"]
    assert second.next_cursor is None


async def test_the_default_is_twenty_newest_first(session, user):
    for i in range(21):
        await add(session, user, f"Todo {i}")
    page = await service.list_todos(session, user)
    assert len(page.items) == 20 and page.next_cursor is not None
    assert page.items[0].title == "Todo 20"


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(parts))).decode()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"sort": "number"}, "sort"),
        ({"sort": "-"}, "sort"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "x" * 5000}, "cursor"),
        ({"cursor": _cursor("-created_at", "yesterday", str(uuid.uuid4()))}, "cursor"),
        ({"cursor": _cursor("-created_at", "2030-01-01T00:00:00", str(uuid.uuid4()))}, "cursor"),
        ({"cursor": _cursor("-created_at", "2030-01-01T00:00:00Z", "nope")}, "cursor"),
        ({"cursor": _cursor("-created_at", "2030-01-01T00:00:00Z")}, "cursor"),
        ({"sort": "priority", "cursor": _cursor("priority", 9, str(uuid.uuid4()))}, "cursor"),
        ({"sort": "title", "cursor": _cursor("title", 3, str(uuid.uuid4()))}, "cursor"),
        ({"sort": "created_at", "cursor": _cursor("priority", 1, str(uuid.uuid4()))}, "cursor"),
    ],
)
async def test_bad_paging_input_is_a_validation_error(session, user, kwargs, field):
    with pytest.raises(ValidationFailed) as raised:
        await service.list_todos(session, user, **kwargs)
    assert [f["key"] for f in raised.value.details["fields"]] == [field]


async def test_a_cursor_only_fits_its_own_sort(session, user):
    for i in range(3):
        await add(session, user, f"Todo {i}", due_at=datetime.now(UTC) + timedelta(days=i))
    cursor = (await service.list_todos(session, user, sort="due_at", limit=1)).next_cursor
    assert cursor is not None
    page = await service.list_todos(session, user, sort="due_at", limit=1, cursor=cursor)
    assert titles(page.items) == ["Todo 1"]
    with pytest.raises(ValidationFailed):
        await service.list_todos(session, user, sort="-due_at", limit=1, cursor=cursor)
