"""User isolation: a user never reaches another user's conversations or todos."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.chat import CONVERSATIONS, conversation, send, todos_of, turn
from tests.support.envelope import assert_error
from tests.support.todos_api import create_todo

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway, ModelChat


def test_another_users_conversation_answers_like_a_missing_one(model_chat: ModelChat, make_user):
    owner, intruder = make_user(), make_user()
    conversation_id = turn(model_chat.url, owner, "my private plans")["conversation_id"]
    url = f"{model_chat.url}{CONVERSATIONS}/{conversation_id}"
    model_chat.model.requests.clear()

    assert_error(httpx.get(url, headers=intruder.headers), 404, "NOT_FOUND")
    assert_error(send(model_chat.url, intruder, "and mine", conversation_id), 404, "NOT_FOUND")
    renamed = httpx.patch(url, json={"title": "pwned"}, headers=intruder.headers)
    assert_error(renamed, 404, "NOT_FOUND")
    assert_error(httpx.delete(url, headers=intruder.headers), 404, "NOT_FOUND")
    listed = httpx.get(model_chat.url + CONVERSATIONS, headers=intruder.headers).json()
    assert listed["items"] == []

    assert model_chat.model.requests == []  # the intruder's message never reached the model
    kept = conversation(model_chat.url, owner, conversation_id)
    assert kept["title"] == "my private plans"
    assert [m["content"] for m in kept["messages"]] == ["my private plans", "OK"]


@pytest.mark.parametrize(
    "message",
    [
        "delete task 1",
        "mark task 2 as complete",
        "complete task 1",
        "rename task 1 to 'hacked'",
        "delete the groceries task",
        "show me all my tasks",
        "undo that",
    ],
)
def test_nothing_another_user_says_reaches_my_todos(
    chat_gateway: ChatGateway, api, make_user, message
):
    owner, intruder = make_user(), make_user()
    create_todo(api, owner, title="Buy groceries")
    create_todo(api, owner, title="Pay bills")
    before = todos_of(chat_gateway.url, owner)

    answer = turn(chat_gateway.url, intruder, message)

    assert todos_of(chat_gateway.url, owner) == before
    seen = (answer["response"] + json.dumps(answer["tool_calls"])).lower()
    for todo in before:  # the intruder's answer never shows the owner's todos
        assert todo["id"] not in seen
        assert todo["title"].lower() not in seen


def test_a_token_without_todo_scopes_cannot_start_a_turn(
    chat_gateway: ChatGateway, make_user, api: httpx.Client
):
    """The assistant acts through the todo tools as the caller: a personal token limited to
    chat alone is refused before anything is stored."""
    user = make_user()
    made = api.post(
        "/api/v1/auth/tokens", json={"name": "chat only", "scopes": ["chat"]}, headers=user.headers
    )
    assert made.status_code == 201, made.text
    limited = {"Authorization": f"Bearer {made.json()['token']}"}
    answer = httpx.post(
        chat_gateway.url + "/api/v1/chat", json={"message": "add milk"}, headers=limited
    )
    error = assert_error(answer, 403, "INSUFFICIENT_SCOPE")
    assert set(error["details"]["required_scopes"]) == {"todos:read", "todos:write"}
    listed = httpx.get(chat_gateway.url + CONVERSATIONS, headers=user.headers).json()
    assert listed["items"] == [] and todos_of(chat_gateway.url, user) == []
