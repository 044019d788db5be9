"""Conversations through the gateway: list, read with messages, rename, delete, pagination,
and the validation of what a client sends."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.chat import CHAT, CONVERSATIONS, conversation, send, turn
from tests.support.envelope import assert_error, assert_validation_error

if TYPE_CHECKING:
    from tests.support.chat import ModelChat
    from tests.support.stack import User


def listing(base_url: str, user: User, **params: Any) -> dict[str, Any]:
    response = httpx.get(base_url + CONVERSATIONS, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_conversation_is_titled_after_its_first_message(model_chat: ModelChat, make_user):
    user = make_user()
    first = turn(model_chat.url, user, "  Plan the   trip to Lisbon\nwith the kids  ")
    long = turn(model_chat.url, user, "word " * 100)

    titles = {item["id"]: item["title"] for item in listing(model_chat.url, user)["items"]}
    assert titles[first["conversation_id"]] == "Plan the trip to Lisbon with the kids"
    assert len(titles[long["conversation_id"]]) <= 60
    assert titles[long["conversation_id"]].endswith("…")


def test_the_list_is_mine_most_recently_active_first(model_chat: ModelChat, make_user):
    user, other = make_user(), make_user()
    a = turn(model_chat.url, user, "first")["conversation_id"]
    b = turn(model_chat.url, user, "second")["conversation_id"]
    turn(model_chat.url, other, "not yours")
    assert [item["id"] for item in listing(model_chat.url, user)["items"]] == [b, a]

    turn(model_chat.url, user, "first again", a)  # a is active again: back on top
    items = listing(model_chat.url, user)["items"]
    assert [item["id"] for item in items] == [a, b]
    assert items[0]["last_active_at"] > items[1]["last_active_at"]


def test_the_list_pages_through_every_conversation_once(model_chat: ModelChat, make_user):
    user = make_user()
    created = [turn(model_chat.url, user, f"conversation {n}")["conversation_id"] for n in range(5)]
    seen: list[str] = []
    page = listing(model_chat.url, user, limit=2)
    while True:
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        page = listing(model_chat.url, user, limit=2, cursor=page["next_cursor"])
    assert seen == list(reversed(created))


def test_messages_come_in_order_and_page(model_chat: ModelChat, make_user):
    user = make_user()
    conversation_id = turn(model_chat.url, user, "one")["conversation_id"]
    turn(model_chat.url, user, "two", conversation_id)
    turn(model_chat.url, user, "three", conversation_id)

    whole = conversation(model_chat.url, user, conversation_id)
    assert [(m["role"], m["content"]) for m in whole["messages"]] == [
        ("user", "one"), ("assistant", "OK"), ("user", "two"), ("assistant", "OK"),
        ("user", "three"), ("assistant", "OK"),
    ]  # fmt: skip
    assert whole["next_cursor"] is None

    first = conversation(model_chat.url, user, conversation_id, limit=4)
    rest = conversation(model_chat.url, user, conversation_id, limit=4, cursor=first["next_cursor"])
    assert first["messages"] + rest["messages"] == whole["messages"]
    assert rest["next_cursor"] is None


def test_rename(model_chat: ModelChat, make_user):
    user = make_user()
    conversation_id = turn(model_chat.url, user, "hello")["conversation_id"]
    response = httpx.patch(
        f"{model_chat.url}{CONVERSATIONS}/{conversation_id}",
        json={"title": "  Groceries  "},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Groceries"
    assert conversation(model_chat.url, user, conversation_id)["title"] == "Groceries"


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "   "}, {"title": "x" * 201}, {}, {"title": "ok", "extra": 1}],
)
def test_rename_rejects_a_bad_title(model_chat: ModelChat, make_user, body):
    user = make_user()
    conversation_id = turn(model_chat.url, user, "hello")["conversation_id"]
    response = httpx.patch(
        f"{model_chat.url}{CONVERSATIONS}/{conversation_id}", json=body, headers=user.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_delete_removes_the_conversation_and_its_messages(model_chat: ModelChat, make_user):
    user = make_user()
    conversation_id = turn(model_chat.url, user, "hello")["conversation_id"]
    url = f"{model_chat.url}{CONVERSATIONS}/{conversation_id}"
    assert httpx.delete(url, headers=user.headers).status_code == 204
    assert_error(httpx.get(url, headers=user.headers), 404, "NOT_FOUND")
    assert_error(httpx.delete(url, headers=user.headers), 404, "NOT_FOUND")
    assert listing(model_chat.url, user)["items"] == []
    # Its id cannot be continued either.
    assert_error(send(model_chat.url, user, "still there?", conversation_id), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({}, "message"),
        ({"message": "hi", "conversation_id": "not-a-uuid"}, "conversation_id"),
        ({"message": "hi", "user_id": str(uuid.uuid4())}, "user_id"),
    ],
)
def test_a_bad_chat_body_is_400(model_chat: ModelChat, make_user, body, field):
    user = make_user()
    response = httpx.post(model_chat.url + CHAT, json=body, headers=user.headers)
    assert_validation_error(response, field)
    assert model_chat.model.requests == []


def test_the_longest_message_is_accepted(model_chat: ModelChat, make_user):
    answer = turn(model_chat.url, make_user(), "x" * 4000)
    assert answer["response"] == "OK"


def test_an_unknown_conversation_is_404(model_chat: ModelChat, make_user):
    user = make_user()
    unknown = str(uuid.uuid4())
    assert_error(send(model_chat.url, user, "hi", unknown), 404, "NOT_FOUND")
    url = f"{model_chat.url}{CONVERSATIONS}/{unknown}"
    assert_error(httpx.get(url, headers=user.headers), 404, "NOT_FOUND")
    bad = f"{model_chat.url}{CONVERSATIONS}/not-a-uuid"
    assert_error(httpx.get(bad, headers=user.headers), 404, "NOT_FOUND")
    assert listing(model_chat.url, user)["items"] == []  # nothing was created


@pytest.mark.parametrize("params", [{"cursor": "garbage"}, {"limit": 0}, {"limit": 101}])
def test_bad_paging_is_400(model_chat: ModelChat, make_user, params):
    response = httpx.get(model_chat.url + CONVERSATIONS, params=params, headers=make_user().headers)
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_message_cursor_is_not_a_list_cursor(model_chat: ModelChat, make_user):
    user = make_user()
    conversation_id = turn(model_chat.url, user, "one")["conversation_id"]
    cursor = conversation(model_chat.url, user, conversation_id, limit=1)["next_cursor"]
    response = httpx.get(
        model_chat.url + CONVERSATIONS, params={"cursor": cursor}, headers=user.headers
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_every_chat_route_needs_a_token(model_chat: ModelChat):
    for method, path in [
        ("POST", CHAT),
        ("GET", CONVERSATIONS),
        ("GET", f"{CONVERSATIONS}/{uuid.uuid4()}"),
        ("DELETE", f"{CONVERSATIONS}/{uuid.uuid4()}"),
    ]:
        response = httpx.request(method, model_chat.url + path, json={"message": "hi"})
        assert_error(response, 401, "UNAUTHORIZED")
        # The chat service checks the token itself too (it does not trust the gateway).
        direct = httpx.request(method, model_chat.chat.url + path, json={"message": "hi"})
        assert_error(direct, 401, "UNAUTHORIZED")
