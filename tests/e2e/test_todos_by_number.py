"""``GET /api/v1/todos?number=N`` (the todo people call "task N") and ``?deleted=true``
(the trash: deleted todos, which ``/restore`` brings back)."""

from __future__ import annotations

import pytest

from tests.support.envelope import assert_validation_error
from tests.support.todos_api import TODOS, create_todo, list_page, todo_url


def test_number_finds_the_one_todo_with_that_number(api, make_user):
    user = make_user()
    create_todo(api, user, title="First")
    second = create_todo(api, user, title="Second")
    create_todo(api, user, title="Third")

    assert list_page(api, user, number=2)["items"] == [second]
    assert list_page(api, user, number=9)["items"] == []


def test_number_combines_with_the_other_filters(api, make_user):
    user = make_user()
    create_todo(api, user, title="Pending one")
    assert list_page(api, user, number=1, status="completed")["items"] == []
    assert len(list_page(api, user, number=1, status="pending")["items"]) == 1


def test_number_is_per_user(api, make_user):
    alice, bob = make_user(), make_user()
    create_todo(api, alice, title="Alice's first")
    assert list_page(api, bob, number=1)["items"] == []


def test_the_trash_lists_deleted_todos_only(api, make_user):
    user = make_user()
    create_todo(api, user, title="Kept")
    gone = create_todo(api, user, title="Gone")
    assert api.delete(todo_url(gone["id"]), headers=user.headers).status_code == 204

    trash = list_page(api, user, deleted="true")["items"]
    assert [(todo["id"], todo["number"], todo["title"]) for todo in trash] == [
        (gone["id"], 2, "Gone")
    ]
    assert trash[0]["deleted_at"] == trash[0]["updated_at"]  # the delete was its last change
    live = list_page(api, user)["items"]
    assert [todo["title"] for todo in live] == ["Kept"]
    assert "deleted_at" not in live[0]
    assert [todo["title"] for todo in list_page(api, user, deleted="false")["items"]] == ["Kept"]


def test_a_deleted_todo_is_found_by_number_in_the_trash_and_restored(api, make_user):
    user = make_user()
    create_todo(api, user, title="One")
    two = create_todo(api, user, title="Two")
    api.delete(todo_url(two["id"]), headers=user.headers)

    assert list_page(api, user, number=2)["items"] == []
    [found] = list_page(api, user, number=2, deleted="true")["items"]
    restored = api.post(todo_url(found["id"], "restore"), headers=user.headers)
    assert restored.status_code == 200, restored.text
    assert list_page(api, user, number=2, deleted="true")["items"] == []
    assert [todo["title"] for todo in list_page(api, user, number=2)["items"]] == ["Two"]


def test_the_trash_is_per_user(api, make_user):
    alice, bob = make_user(), make_user()
    todo = create_todo(api, alice, title="Alice's deleted")
    api.delete(todo_url(todo["id"]), headers=alice.headers)
    assert list_page(api, bob, deleted="true")["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"number": 0}, "number"),
        ({"number": "two"}, "number"),
        ({"number": 2**31}, "number"),  # past a Postgres integer: was a 500
        ({"deleted": "maybe"}, "deleted"),
    ],
)
def test_bad_number_or_deleted_is_400(api, make_user, params, field):
    response = api.get(TODOS, params=params, headers=make_user().headers)
    assert_validation_error(response, field)
