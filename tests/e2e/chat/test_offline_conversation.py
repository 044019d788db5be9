"""With no API key, a whole conversation through the gateway manages the user's todos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.chat import conversation, todos_of, turn

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway


def test_add_list_complete_rename_delete_restore(chat_gateway: ChatGateway, make_user):
    user = make_user()
    url = chat_gateway.url

    first = turn(url, user, "add a task to buy groceries")
    conversation_id = first["conversation_id"]
    assert [call["name"] for call in first["tool_calls"]] == ["add_task"]
    turn(url, user, "add a task to call the plumber", conversation_id)
    assert [t["title"].lower() for t in todos_of(url, user, sort="created_at")] == [
        "buy groceries",
        "call the plumber",
    ]

    listed = turn(url, user, "show me all my tasks", conversation_id)
    assert listed["tool_calls"][0]["result"]["count"] == 2
    assert "plumber" in listed["response"].lower()

    turn(url, user, "mark task 1 as complete", conversation_id)
    assert todos_of(url, user, number=1)[0]["status"] == "completed"

    turn(url, user, "change task 2 to 'Call the electrician'", conversation_id)
    assert todos_of(url, user, number=2)[0]["title"] == "Call the electrician"

    turn(url, user, "delete task 2", conversation_id)
    assert todos_of(url, user, number=2) == []

    restored = turn(url, user, "undo that", conversation_id)
    assert [call["name"] for call in restored["tool_calls"]] == ["restore_task"]
    assert todos_of(url, user, number=2)[0]["title"] == "Call the electrician"

    messages = conversation(url, user, conversation_id)["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users[0] == "add a task to buy groceries"
    assert users[-1] == "undo that"
    assert sum(m["role"] == "assistant" for m in messages) == 7
