"""``Accept: text/event-stream`` on ``POST /api/v1/chat``, through the gateway."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.chat import CHAT, conversation, todos_of
from tests.support.openai_server import delayed, text_reply, tool_call_reply

if TYPE_CHECKING:
    from tests.support.chat import ModelChat
    from tests.support.stack import User


def stream(base_url: str, user: User, message: str) -> list[tuple[str, Any, float]]:
    """The events of a streamed turn: (event, decoded data, seconds since the request)."""
    events: list[tuple[str, Any, float]] = []
    started = time.monotonic()
    headers = {**user.headers, "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", base_url + CHAT, json={"message": message}, headers=headers, timeout=20
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = "message", []
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
            elif line == "" and data:
                events.append((event, json.loads("\n".join(data)), time.monotonic() - started))
                event, data = "message", []
    return events


def test_tool_calls_stream_as_they_happen_then_reply_then_the_answer(
    model_chat: ModelChat, make_user
):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Call the bank"})]),
        delayed(1.5, text_reply("Added task 1.")),  # the model thinks a while after the tool
    )
    events = stream(model_chat.url, user, "add call the bank")

    assert [name for name, _, _ in events] == ["tool_call", "reply", "done"]
    (_, call, call_at), (_, reply, _), (_, done, done_at) = events
    assert call["name"] == "add_task"
    assert call["result"]["status"] == "created"
    assert reply == {"response": "Added task 1."}
    assert set(done) == {"conversation_id", "message_id", "response", "tool_calls"}
    assert done["tool_calls"] == [call]
    assert done["response"] == "Added task 1."
    # The tool call reached the client through the gateway before the model answered.
    assert done_at - call_at >= 1.0

    stored = conversation(model_chat.url, user, done["conversation_id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "tool", "assistant"]
    assert stored[-1]["id"] == done["message_id"]
    assert [todo["title"] for todo in todos_of(model_chat.url, user)] == ["Call the bank"]


def test_a_model_failure_mid_stream_is_an_error_event(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(delayed(5, text_reply("too late")))
    events = stream(model_chat.url, user, "hello?")

    [(name, data, _)] = events
    assert name == "error"
    assert data["error"]["code"] == "LLM_UNAVAILABLE"
    conversation_id = data["error"]["details"]["conversation_id"]
    stored = conversation(model_chat.url, user, conversation_id)["messages"]
    assert [m["content"] for m in stored] == ["hello?"]
