"""Any chat process answers any turn: the history lives in Postgres, not in a process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.chat import MODEL_ENV, conversation, start_chat, turn
from tests.support.openai_server import text_reply, tool_call_reply

if TYPE_CHECKING:
    from tests.support.chat import ModelChat
    from tests.support.stack import Stack


def test_alternating_two_processes_keeps_the_whole_history_in_order(
    stack: Stack, model_chat: ModelChat, make_user
):
    other = start_chat(
        stack, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=model_chat.model.base_url, **MODEL_ENV
    )
    try:
        user = make_user()
        instances = [model_chat.url, other.url]  # through the gateway, and the other directly
        conversation_id = None
        expected: list[str] = []
        for n in range(6):
            model_chat.script(text_reply(f"noted {n}"))
            answer = turn(instances[n % 2], user, f"message {n}", conversation_id)
            conversation_id = conversation_id or answer["conversation_id"]
            assert answer["conversation_id"] == conversation_id
            expected.append(f"message {n}")
            # The instance that answered gave the model every earlier message, in order.
            [request] = model_chat.model.requests
            assert [m["content"] for m in request["messages"][1:]] == expected
            expected.append(f"noted {n}")

        stored = conversation(model_chat.url, user, conversation_id)["messages"]
        assert [m["content"] for m in stored] == expected
    finally:
        other.stop()


def test_a_tool_call_made_on_one_process_is_history_on_the_other(
    stack: Stack, model_chat: ModelChat, make_user
):
    other = start_chat(
        stack, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=model_chat.model.base_url, **MODEL_ENV
    )
    try:
        user = make_user()
        model_chat.script(
            tool_call_reply([("add_task", {"title": "Renew passport"})]),
            text_reply("Added task 1."),
        )
        first = turn(model_chat.url, user, "add renew passport")

        model_chat.script(text_reply("It is task 1."))
        turn(other.url, user, "which number was it?", first["conversation_id"])
        [request] = model_chat.model.requests
        user_msg, call, result, reply, new = request["messages"][1:]
        assert user_msg == {"role": "user", "content": "add renew passport"}
        [tool_call] = call["tool_calls"]
        assert tool_call["function"]["name"] == "add_task"
        assert '"Renew passport"' in tool_call["function"]["arguments"]
        assert result["role"] == "tool"
        assert result["tool_call_id"] == tool_call["id"]
        assert '"task_id": 1' in result["content"]
        assert reply == {"role": "assistant", "content": "Added task 1."}
        assert new == {"role": "user", "content": "which number was it?"}
    finally:
        other.stop()


def test_the_history_window_is_bounded(stack: Stack, model_chat: ModelChat, make_user):
    small = start_chat(
        stack,
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=model_chat.model.base_url,
        CHAT_HISTORY_WINDOW="3",
        **MODEL_ENV,
    )
    try:
        user = make_user()
        conversation_id = None
        for n in range(4):
            model_chat.script(text_reply(f"noted {n}"))
            conversation_id = turn(small.url, user, f"message {n}", conversation_id)[
                "conversation_id"
            ]
        [request] = model_chat.model.requests
        # The last three stored messages before the new one, then the new one.
        assert [m["content"] for m in request["messages"][1:]] == [
            "noted 1", "message 2", "noted 2", "message 3",
        ]  # fmt: skip
    finally:
        small.stop()
