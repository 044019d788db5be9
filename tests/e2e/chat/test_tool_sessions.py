"""The MCP sessions a chat process keeps open between turns (services/chat/todo_tools.py).

A session is lent again to its user's next turn: each turn must still call the tools with
its own headers, users must never act through each other's sessions, and a session that
failed (the todos service went away) must not be lent again once the service is back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.support.chat import send, start_chat, todos_of, turn
from tests.support.envelope import assert_error
from tests.support.openai_server import text_reply, tool_call_reply
from tests.support.processes import start_service

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway, ModelChat
    from tests.support.stack import Stack


def test_each_turn_calls_the_tools_in_its_own_time_zone(model_chat: ModelChat, make_user):
    user = make_user()
    for title, zone in [("Call mom", "Europe/Paris"), ("Water plants", "Asia/Tokyo")]:
        model_chat.script(
            tool_call_reply([("add_task", {"title": title, "due_at": "2030-05-01T17:00:00"})]),
            text_reply("Added."),
        )
        response = send(model_chat.url, user, f"{title} at 5pm", headers={"X-Timezone": zone})
        assert response.status_code == 200, response.text

    due = {todo["title"]: todo["due_at"] for todo in todos_of(model_chat.url, user)}
    for title, zone in [("Call mom", "Europe/Paris"), ("Water plants", "Asia/Tokyo")]:
        local = datetime.fromisoformat(due[title]).astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (17, 0), (title, due[title])


def test_users_taking_turns_each_act_on_their_own_todos(chat_gateway: ChatGateway, make_user):
    first, second = make_user(), make_user()
    turn(chat_gateway.url, first, "add a task to buy milk")
    turn(chat_gateway.url, second, "add a task to pay rent")
    for _ in range(2):
        mine = turn(chat_gateway.url, first, "show my tasks")["response"].lower()
        theirs = turn(chat_gateway.url, second, "show my tasks")["response"].lower()
        assert "buy milk" in mine and "pay rent" not in mine
        assert "pay rent" in theirs and "buy milk" not in theirs
    assert [todo["title"] for todo in todos_of(chat_gateway.url, first)] == ["Buy milk"]
    assert [todo["title"] for todo in todos_of(chat_gateway.url, second)] == ["Pay rent"]


def test_turns_work_again_once_the_todos_service_is_back(stack: Stack, make_user):
    factory = "services.todos.app:create_app"
    todos = start_service("todos", factory, stack.todos.env, stack.log_dir)
    chat = start_chat(stack, TODOS_URL=todos.url)
    try:
        user = make_user()
        turn(chat.url, user, "add a task to buy milk")  # a session is open now, and idle

        todos.stop()
        assert_error(send(chat.url, user, "show my tasks"), 503, "SERVICE_UNAVAILABLE")

        todos = start_service("todos", factory, stack.todos.env, stack.log_dir, port=todos.port)
        answer = turn(chat.url, user, "show my tasks")
        assert "buy milk" in answer["response"].lower()
    finally:
        chat.stop()
        todos.stop()
