"""The todos API end to end (docs/design.md §3), through the real gateway and todos processes.

Creating, reading, updating, completing, deleting and restoring one todo; per-user numbers;
ETags; user isolation; the error envelope. Listing, filters, sorting and pagination are in
``test_todos_listing.py``; the helpers are in tests/support/todos_api.py.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.envelope import assert_error, assert_validation_error, moment
from tests.support.hostile import UNKNOWN_ID
from tests.support.todos_api import TODOS, create_todo, get_todo, list_items, todo_url

if TYPE_CHECKING:
    from tests.support.stack import Stack, UserFactory

TODO_FIELDS = {
    "id", "number", "title", "description", "status", "priority", "due_at", "remind_before",
    "remind_at", "tags", "recurrence", "time_zone", "recurred_from", "created_at",
    "updated_at", "completed_at", "version",
}  # fmt: skip


# --- create ----------------------------------------------------------------------------


def test_create_returns_the_todo_with_defaults_and_location(api, make_user):
    user = make_user()
    response = api.post(TODOS, json={"title": "Buy milk"}, headers=user.headers)

    assert response.status_code == 201, response.text
    todo = response.json()
    assert set(todo) == TODO_FIELDS
    assert str(uuid.UUID(todo["id"])) == todo["id"]
    assert response.headers["Location"] == todo_url(todo["id"])
    assert todo["number"] == 1
    assert todo["title"] == "Buy milk"
    assert todo["description"] is None
    assert todo["status"] == "pending"
    assert todo["priority"] == "medium"
    assert todo["due_at"] is None
    assert todo["tags"] == []
    assert todo["recurrence"] is None and todo["time_zone"] is None
    assert todo["recurred_from"] is None
    assert todo["completed_at"] is None
    assert todo["version"] == 1
    assert moment(todo["updated_at"]) >= moment(todo["created_at"])


def test_create_keeps_every_given_field(api, make_user):
    user = make_user()
    todo = create_todo(
        api,
        user,
        title="Write report",
        description="Quarterly numbers",
        priority="urgent",
        due_at="2030-05-06T07:08:09+02:00",
        tags=["work", "q2"],
    )

    assert todo["description"] == "Quarterly numbers"
    assert todo["priority"] == "urgent"
    assert moment(todo["due_at"]) == moment("2030-05-06T05:08:09Z")
    assert todo["tags"] == ["work", "q2"]
    assert get_todo(api, user, todo["id"]) == todo


def test_create_accepts_the_largest_valid_values(api, make_user):
    user = make_user()
    todo = create_todo(
        api,
        user,
        title="t" * 255,
        description="d" * 10000,
        tags=[f"{i:02d}" + "x" * 48 for i in range(20)],
    )
    assert len(todo["title"]) == 255
    assert len(todo["description"]) == 10000
    assert len(todo["tags"]) == 20


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "title", id="missing-title"),
        pytest.param({"title": ""}, "title", id="empty-title"),
        pytest.param({"title": "t" * 256}, "title", id="title-256"),
        pytest.param({"title": "x", "tags": [f"t{i}" for i in range(21)]}, "tags", id="21-tags"),
        pytest.param({"title": "x", "tags": ["t" * 51]}, "tags", id="tag-51"),
        pytest.param({"title": "x", "priority": "critical"}, "priority", id="bad-priority"),
        pytest.param({"title": "x", "colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"title": "x", "description": "d" * 10001}, "description", id="long-desc"),
    ],
)
def test_create_rejects_an_invalid_body(api, make_user, body, field):
    user = make_user()
    assert_validation_error(api.post(TODOS, json=body, headers=user.headers), field)
    assert list_items(api, user) == []


# --- per-user numbers ------------------------------------------------------------------


def test_numbers_count_per_user_and_are_never_reused(api, make_user):
    alice, bob = make_user(), make_user()
    first, second, third = (create_todo(api, alice, title=f"Task {i}") for i in range(3))
    assert [first["number"], second["number"], third["number"]] == [1, 2, 3]

    assert api.delete(todo_url(third["id"]), headers=alice.headers).status_code == 204
    assert create_todo(api, alice)["number"] == 4
    assert create_todo(api, bob)["number"] == 1


async def test_concurrent_creates_get_numbers_one_to_twenty(stack: Stack, make_user: UserFactory):
    user = make_user()
    async with httpx.AsyncClient(
        base_url=stack.gateway.url, headers=user.headers, timeout=30
    ) as client:
        responses = await asyncio.gather(
            *(client.post(TODOS, json={"title": f"Parallel {i}"}) for i in range(20))
        )
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    assert sorted(r.json()["number"] for r in responses) == list(range(1, 21))


# --- read, ETag ------------------------------------------------------------------------


def test_get_returns_an_etag_that_answers_if_none_match(api, make_user):
    user = make_user()
    todo = create_todo(api, user)

    response = api.get(todo_url(todo["id"]), headers=user.headers)
    assert response.status_code == 200
    assert response.json() == todo
    assert response.headers["ETag"] == '"1"'

    cached = api.get(todo_url(todo["id"]), headers={**user.headers, "If-None-Match": '"1"'})
    assert cached.status_code == 304
    assert cached.content == b""

    api.patch(todo_url(todo["id"]), json={"title": "Changed"}, headers=user.headers)
    stale = api.get(todo_url(todo["id"]), headers={**user.headers, "If-None-Match": '"1"'})
    assert stale.status_code == 200
    assert stale.headers["ETag"] == '"2"'


@pytest.mark.parametrize("todo_id", [UNKNOWN_ID, "not-a-uuid", "42"])
def test_get_unknown_or_malformed_id_is_404(api, make_user, todo_id):
    user = make_user()
    assert_error(api.get(todo_url(todo_id), headers=user.headers), 404, "NOT_FOUND")


# --- update ----------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(api, make_user):
    user = make_user()
    todo = create_todo(
        api, user, title="Old", description="Keep me", priority="high", tags=["a"],
        due_at="2030-01-01T00:00:00Z",
    )  # fmt: skip

    response = api.patch(todo_url(todo["id"]), json={"title": "New"}, headers=user.headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "New"
    assert updated["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert moment(updated["updated_at"]) >= moment(todo["updated_at"])
    unchanged = {k for k in TODO_FIELDS if k not in ("title", "version", "updated_at")}
    assert {k: updated[k] for k in unchanged} == {k: todo[k] for k in unchanged}
    assert get_todo(api, user, todo["id"]) == updated


def test_patch_description_null_clears_it(api, make_user):
    user = make_user()
    todo = create_todo(api, user, title="Keep", description="Remove me")

    response = api.patch(todo_url(todo["id"]), json={"description": None}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["description"] is None
    assert response.json()["title"] == "Keep"
    assert get_todo(api, user, todo["id"])["description"] is None


def test_patch_with_if_match_checks_the_version(api, make_user):
    user = make_user()
    todo = create_todo(api, user, title="Original")
    url = todo_url(todo["id"])

    current = api.patch(url, json={"title": "Second"}, headers={**user.headers, "If-Match": '"1"'})
    assert current.status_code == 200, current.text
    assert current.json()["version"] == 2

    stale = api.patch(url, json={"title": "Lost"}, headers={**user.headers, "If-Match": '"1"'})
    assert_error(stale, 412, "VERSION_CONFLICT")
    after = get_todo(api, user, todo["id"])
    assert (after["title"], after["version"]) == ("Second", 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": ""}, "title", id="empty-title"),
        pytest.param({"title": None}, "title", id="null-title"),
        pytest.param({"title": "t" * 256}, "title", id="title-256"),
        pytest.param({"priority": "critical"}, "priority", id="bad-priority"),
        pytest.param({"status": "done"}, "status", id="bad-status"),
        pytest.param({"tags": [f"t{i}" for i in range(21)]}, "tags", id="21-tags"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    ],
)
def test_patch_rejects_an_invalid_body(api, make_user, body, field):
    user = make_user()
    todo = create_todo(api, user, title="Untouched")
    assert_validation_error(api.patch(todo_url(todo["id"]), json=body, headers=user.headers), field)
    assert get_todo(api, user, todo["id"]) == todo


# --- complete / reopen -----------------------------------------------------------------


def test_complete_and_reopen(api, make_user):
    user = make_user()
    todo = create_todo(api, user)

    completed = api.post(todo_url(todo["id"], "complete"), headers=user.headers)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    assert moment(completed.json()["completed_at"]) >= moment(todo["created_at"])
    assert completed.json()["version"] == 2

    reopened = api.post(todo_url(todo["id"], "reopen"), headers=user.headers)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "pending"
    assert reopened.json()["completed_at"] is None
    assert get_todo(api, user, todo["id"]) == reopened.json()


# --- delete / restore ------------------------------------------------------------------


def test_delete_hides_the_todo_and_restore_brings_it_back(api, make_user):
    user = make_user()
    create_todo(api, user, title="Stays")
    todo = create_todo(api, user, title="Goes")
    url = todo_url(todo["id"])

    deleted = api.delete(url, headers=user.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    for response in (
        api.get(url, headers=user.headers),
        api.patch(url, json={"title": "Ghost"}, headers=user.headers),
        api.delete(url, headers=user.headers),
        api.post(todo_url(todo["id"], "complete"), headers=user.headers),
        api.post(todo_url(todo["id"], "reopen"), headers=user.headers),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert [t["title"] for t in list_items(api, user)] == ["Stays"]

    restored = api.post(todo_url(todo["id"], "restore"), headers=user.headers)
    assert restored.status_code == 200, restored.text
    assert (restored.json()["id"], restored.json()["number"]) == (todo["id"], 2)
    assert restored.json()["title"] == "Goes"
    assert get_todo(api, user, todo["id"]) == restored.json()
    assert {t["title"] for t in list_items(api, user)} == {"Stays", "Goes"}


def test_restore_of_a_live_or_unknown_todo_is_404(api, make_user):
    user = make_user()
    todo = create_todo(api, user)
    for todo_id in (todo["id"], uuid.uuid4()):
        response = api.post(todo_url(todo_id, "restore"), headers=user.headers)
        assert_error(response, 404, "NOT_FOUND")
    assert get_todo(api, user, todo["id"]) == todo


# --- user isolation --------------------------------------------------------------------


def test_another_users_todo_answers_like_a_missing_one(api, make_user):
    alice, bob = make_user(), make_user()
    todo = create_todo(api, alice, title="Alice secret plan", tags=["private"], priority="high")
    missing = assert_error(api.get(todo_url(uuid.uuid4()), headers=bob.headers), 404, "NOT_FOUND")
    url = todo_url(todo["id"])

    for response in (
        api.get(url, headers=bob.headers),
        api.patch(url, json={"title": "Hijacked"}, headers=bob.headers),
        # A stale If-Match must not reveal that the todo exists (404, not 412).
        api.patch(url, json={"title": "Hijacked"}, headers={**bob.headers, "If-Match": '"7"'}),
        api.post(todo_url(todo["id"], "complete"), headers=bob.headers),
        api.post(todo_url(todo["id"], "reopen"), headers=bob.headers),
        api.post(todo_url(todo["id"], "restore"), headers=bob.headers),
        api.delete(url, headers=bob.headers),
    ):
        assert_error(response, 404, missing["code"])

    assert get_todo(api, alice, todo["id"]) == todo
    assert list_items(api, bob) == []
    assert list_items(api, bob, q="Alice secret") == []
    assert list_items(api, bob, tag="private") == []
    assert list_items(api, bob, priority="high") == []


def test_another_user_cannot_restore_a_deleted_todo(api, make_user):
    alice, bob = make_user(), make_user()
    todo = create_todo(api, alice)
    assert api.delete(todo_url(todo["id"]), headers=alice.headers).status_code == 204

    assert_error(api.post(todo_url(todo["id"], "restore"), headers=bob.headers), 404, "NOT_FOUND")
    assert_error(api.get(todo_url(todo["id"]), headers=alice.headers), 404, "NOT_FOUND")
    assert list_items(api, bob) == []


# --- the error envelope ----------------------------------------------------------------


def test_error_bodies_carry_the_envelope(api, make_user):
    user = make_user()
    todo = create_todo(api, user)
    url = todo_url(todo["id"])

    assert_error(api.get(TODOS), 401, "UNAUTHORIZED")
    assert_error(api.post(TODOS, json={"title": ""}, headers=user.headers), 400, "VALIDATION_ERROR")
    assert_error(api.get(TODOS, params={"limit": 0}, headers=user.headers), 400, "VALIDATION_ERROR")
    assert_error(api.get(todo_url(uuid.uuid4()), headers=user.headers), 404, "NOT_FOUND")
    assert_error(api.get(todo_url(todo["id"], "nope"), headers=user.headers), 404, "NOT_FOUND")
    assert_error(api.put(url, json={"title": "x"}, headers=user.headers), 405, None)
    bad = api.post(
        TODOS, content=b"{not json", headers={**user.headers, "Content-Type": "application/json"}
    )
    assert_error(bad, 400, "VALIDATION_ERROR")
    stale = api.patch(url, json={"title": "x"}, headers={**user.headers, "If-Match": '"9"'})
    assert_error(stale, 412, "VERSION_CONFLICT")


def test_a_sane_request_id_is_echoed_into_the_error(api, make_user):
    user = make_user()
    request_id = f"e2e-{uuid.uuid4().hex}"
    response = api.get(todo_url(uuid.uuid4()), headers={**user.headers, "X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id
    assert assert_error(response, 404, "NOT_FOUND")["correlation_id"] == request_id
