"""End-to-end tests of ``GET /api/v1/todos`` (docs/design.md §3): filters, sort, limit, cursors."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.envelope import assert_error, assert_validation_error
from tests.support.todos_api import TODOS, create_todo, list_items, list_page, todo_url

if TYPE_CHECKING:
    from tests.support.stack import User


def query_id(value: object) -> str | None:
    """A readable test id for a dict of query parameters."""
    return "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


# --- filters ---------------------------------------------------------------------------


@pytest.fixture
def seeded(api, make_user) -> User:
    """A user with four todos that each filter below tells apart."""
    user = make_user()
    create_todo(
        api, user, title="Buy GROCERIES", priority="high", tags=["home", "shopping"],
        due_at="2030-01-01T09:00:00Z",
    )  # fmt: skip
    create_todo(
        api, user, title="Write report", description="Quarterly numbers for the Board",
        priority="urgent", tags=["work"], due_at="2030-01-03T17:00:00+02:00",
    )  # fmt: skip
    call = create_todo(api, user, title="Call mom", priority="low", tags=["home"])
    create_todo(
        api, user, title="Gym", description="Leg day, then buy protein", tags=["health"],
        due_at="2030-01-02T12:00:00Z",
    )  # fmt: skip
    assert api.post(todo_url(call["id"], "complete"), headers=user.headers).status_code == 200
    return user


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "completed"}, {"Call mom"}),
        ({"status": "pending"}, {"Buy GROCERIES", "Write report", "Gym"}),
        ({"priority": "high"}, {"Buy GROCERIES"}),
        ({"priority": "medium"}, {"Gym"}),
        ({"tag": "home"}, {"Buy GROCERIES", "Call mom"}),
        ({"tag": "work"}, {"Write report"}),
        ({"tag": "nothing"}, set()),
        ({"q": "groceries"}, {"Buy GROCERIES"}),
        ({"q": "BOARD"}, {"Write report"}),
        ({"q": "buy"}, {"Buy GROCERIES", "Gym"}),
        ({"q": "zzz"}, set()),
        ({"due_before": "2030-01-02T00:00:00Z"}, {"Buy GROCERIES"}),
        ({"due_after": "2030-01-02T00:00:00Z"}, {"Write report", "Gym"}),
        (
            {"due_after": "2030-01-01T10:00:00Z", "due_before": "2030-01-03T00:00:00Z"},
            {"Gym"},
        ),
        # "Write report" is due 2030-01-03T15:00Z; 16:00+02:00 is 14:00Z.
        ({"due_before": "2030-01-03T16:00:00+02:00"}, {"Buy GROCERIES", "Gym"}),
        ({"due_after": "2030-01-03T16:00:00+02:00"}, {"Write report"}),
        ({"status": "pending", "tag": "home"}, {"Buy GROCERIES"}),
        ({"status": "pending", "priority": "low"}, set()),
    ],
    ids=query_id,
)
def test_filters(api, seeded, params, expected):
    assert set(titles(list_items(api, seeded, **params))) == expected


def test_offset_in_a_query_string_must_be_percent_encoded(api, seeded):
    """A literal '+' in a query string means a space; %2B is the offset sign."""
    url = f"{TODOS}?limit=100&due_after=2030-01-03T16:00:00%2B02:00"
    response = api.get(url, headers=seeded.headers)
    assert response.status_code == 200, response.text
    assert titles(response.json()["items"]) == ["Write report"]


def test_q_matches_percent_and_underscore_literally(api, make_user):
    user = make_user()
    create_todo(api, user, title="Save 100% of it")
    create_todo(api, user, title="Save 1000 of it")
    create_todo(api, user, title="snake_case names")
    create_todo(api, user, title="snakeXcase names")
    assert titles(list_items(api, user, q="100%")) == ["Save 100% of it"]
    assert titles(list_items(api, user, q="e_c")) == ["snake_case names"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": "critical"}, "priority"),
        ({"due_before": "next tuesday"}, "due_before"),
        ({"due_after": "2030-13-45"}, "due_after"),
        ({"sort": "number"}, "sort"),
        ({"sort": "-"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
    ids=query_id,
)
def test_invalid_query_is_a_validation_error(api, make_user, params, field):
    user = make_user()
    assert_validation_error(api.get(TODOS, params=params, headers=user.headers), field)


# --- sorting ---------------------------------------------------------------------------

# Created in this order; every sort key below orders them differently.
SORT_SEED = [
    {"title": "cherry", "priority": "high", "due_at": "2030-01-01T00:00:00Z"},
    {"title": "apple", "priority": "low", "due_at": "2030-04-01T00:00:00Z"},
    {"title": "date", "priority": "medium", "due_at": "2030-02-01T00:00:00Z"},
    {"title": "banana", "priority": "urgent", "due_at": "2030-03-01T00:00:00Z"},
]
ASCENDING = {
    "created_at": ["cherry", "apple", "date", "banana"],
    "due_at": ["cherry", "date", "banana", "apple"],
    "priority": ["apple", "date", "cherry", "banana"],  # low < medium < high < urgent
    "title": ["apple", "banana", "cherry", "date"],
}


@pytest.fixture
def sort_user(api, make_user) -> User:
    user = make_user()
    for fields in SORT_SEED:
        create_todo(api, user, **fields)
    return user


@pytest.mark.parametrize("key", list(ASCENDING))
def test_sort_both_directions(api, sort_user, key):
    assert titles(list_items(api, sort_user, sort=key)) == ASCENDING[key]
    assert titles(list_items(api, sort_user, sort=f"-{key}")) == ASCENDING[key][::-1]


def test_default_sort_is_newest_first(api, sort_user):
    assert titles(list_page(api, sort_user)["items"]) == ASCENDING["created_at"][::-1]


# --- limit and pagination --------------------------------------------------------------


def test_limit_bounds_the_page(api, make_user):
    user = make_user()
    for i in range(3):
        create_todo(api, user, title=f"Todo {i}")
    assert len(list_page(api, user, limit=1)["items"]) == 1
    assert len(list_page(api, user, limit=100)["items"]) == 3


# Ties in title and priority and missing due dates, so keysets must break ties by id.
PAGE_SEED = [
    {"title": "task a", "priority": "high", "due_at": "2030-01-02T00:00:00Z"},
    {"title": "task a", "priority": "low"},
    {"title": "task b", "priority": "high", "due_at": "2030-01-01T00:00:00Z"},
    {"title": "task c", "priority": "urgent", "due_at": "2030-01-02T00:00:00Z"},
    {"title": "task c", "priority": "low"},
    {"title": "task d", "priority": "medium", "due_at": "2030-01-03T00:00:00Z"},
    {"title": "task e", "priority": "high"},
]


@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "priority", "-priority", "title", "-title", "due_at"]
)
def test_pagination_walks_every_todo_once(api, make_user, sort):
    user = make_user()
    created = [create_todo(api, user, **fields)["id"] for fields in PAGE_SEED]
    in_one_page = [t["id"] for t in list_items(api, user, sort=sort)]

    walked: list[str] = []
    cursors: list[str | None] = []
    params: dict[str, Any] = {"sort": sort, "limit": 2}
    for _ in range(10):
        page = list_page(api, user, **params)
        walked += [t["id"] for t in page["items"]]
        cursors.append(page["next_cursor"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert walked == in_one_page
    assert sorted(walked) == sorted(created)
    assert len(cursors) == 4
    assert all(isinstance(cursor, str) and cursor for cursor in cursors[:-1])
    assert cursors[-1] is None


def test_a_full_last_page_has_no_cursor(api, make_user):
    user = make_user()
    for i in range(4):
        create_todo(api, user, title=f"Todo {i}")
    first = list_page(api, user, limit=2)
    second = list_page(api, user, limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!not-base64!!!",
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["-created_at", "yesterday", "nope"]').decode(),
        "x" * 5000,
    ],
    ids=["word", "not-base64", "json-object", "bad-values", "huge"],
)
def test_a_garbage_cursor_is_a_validation_error(api, make_user, cursor):
    user = make_user()
    create_todo(api, user)
    response = api.get(TODOS, params={"cursor": cursor}, headers=user.headers)
    assert_error(response, 400, "VALIDATION_ERROR")
