"""``Accept: text/event-stream`` on ``POST /api/v1/chat``, through the gateway."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.chat import CHAT, conversation, todos_of, turn
from tests.support.openai_server import cut, delayed, paced, text_reply, tool_call_reply

if TYPE_CHECKING:
    from tests.support.chat import ChatGateway, ModelChat
    from tests.support.stack import User

Event = tuple[str, Any, float]  # (event, decoded data, seconds since the request)


def stream(base_url: str, user: User, message: str) -> list[Event]:
    """The events of a streamed turn."""
    events: list[Event] = []
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


def names(events: list[Event]) -> list[str]:
    """The event names, each run of ``delta`` events as one ``delta*``."""
    result: list[str] = []
    for name, _, _ in events:
        name = "delta*" if name == "delta" else name
        if not (result and result[-1] == name == "delta*"):
            result.append(name)
    return result


def texts(events: list[Event]) -> list[str]:
    return [data["text"] for name, data, _ in events if name == "delta"]


def test_the_reply_streams_as_deltas_while_the_model_writes_it(model_chat: ModelChat, make_user):
    user = make_user()
    words = "You have no tasks yet. Shall I add one for you?"
    model_chat.script(paced(0.15, text_reply(words)))
    events = stream(model_chat.url, user, "what's on my list?")

    assert names(events) == ["delta*", "reply", "done"]
    deltas = [(data, at) for name, data, at in events if name == "delta"]
    assert len(deltas) >= 5
    assert all(set(data) == {"text"} for data, _ in deltas)
    assert "".join(texts(events)) == words
    (_, reply, _), (_, done, done_at) = events[-2:]
    # The first words reached the client through the gateway well before the last ones.
    assert done_at - deltas[0][1] >= 1.0
    assert reply == {"response": words}
    assert model_chat.model.requests[0]["stream"] is True

    # ``done`` is the JSON answer the same turn gets without the event stream.
    model_chat.script(text_reply(words))
    answer = turn(model_chat.url, user, "what's on my list?", done["conversation_id"])
    assert set(done) == set(answer) == {"conversation_id", "message_id", "response", "tool_calls"}
    assert (done["response"], done["tool_calls"]) == (answer["response"], answer["tool_calls"])
    assert done["conversation_id"] == answer["conversation_id"]
    stored = conversation(model_chat.url, user, done["conversation_id"])["messages"]
    assert [(m["role"], m["content"]) for m in stored[:2]] == [
        ("user", "what's on my list?"),
        ("assistant", words),
    ]
    assert stored[1]["id"] == done["message_id"]


def test_tool_calls_stream_as_they_happen_then_the_reply_as_deltas(
    model_chat: ModelChat, make_user
):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Call the bank"})]),
        delayed(1.5, text_reply("Added task 1.")),  # the model thinks a while after the tool
    )
    events = stream(model_chat.url, user, "add call the bank")

    assert names(events) == ["tool_call", "delta*", "reply", "done"]
    (_, call, call_at), (_, reply, _), (_, done, done_at) = events[0], *events[-2:]
    assert call["name"] == "add_task"
    assert call["arguments"] == {"title": "Call the bank"}
    assert call["result"]["status"] == "created"
    assert "".join(texts(events)) == "Added task 1."
    assert reply == {"response": "Added task 1."}
    assert set(done) == {"conversation_id", "message_id", "response", "tool_calls"}
    assert done["tool_calls"] == [call]
    assert done["response"] == "Added task 1."
    # The tool call reached the client through the gateway before the model answered.
    assert done_at - call_at >= 1.0
    assert [request["stream"] for request in model_chat.model.requests] == [True, True]

    stored = conversation(model_chat.url, user, done["conversation_id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "tool", "assistant"]
    assert stored[-1]["id"] == done["message_id"]
    assert [todo["title"] for todo in todos_of(model_chat.url, user)] == ["Call the bank"]


def test_what_the_model_says_before_calling_a_tool_streams_but_is_not_the_reply(
    model_chat: ModelChat, make_user
):
    user = make_user()
    model_chat.script(
        tool_call_reply([("list_tasks", {"status": "pending"})], saying="Let me check. "),
        text_reply("Nothing is pending."),
    )
    events = stream(model_chat.url, user, "what's pending?")

    assert names(events) == ["delta*", "tool_call", "delta*", "reply", "done"]
    split = next(i for i, (name, _, _) in enumerate(events) if name == "tool_call")
    assert "".join(texts(events[:split])) == "Let me check. "
    assert "".join(texts(events[split:])) == "Nothing is pending."
    assert events[-1][1]["response"] == "Nothing is pending."
    # The model is given back what it said along with its tool call.
    said = model_chat.model.requests[1]["messages"][-2]
    assert (said["role"], said["content"]) == ("assistant", "Let me check. ")
    assert said["tool_calls"][0]["function"]["name"] == "list_tasks"
    stored = conversation(model_chat.url, user, events[-1][1]["conversation_id"])["messages"]
    assert [(m["role"], m["content"]) for m in stored if m["role"] != "tool"] == [
        ("user", "what's pending?"),
        ("assistant", "Nothing is pending."),
    ]


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


def test_the_turn_deadline_cuts_a_model_still_streaming(model_chat: ModelChat, make_user):
    user = make_user()
    # Each chunk comes well within the 2 s request timeout; all of them take past the
    # turn's 3 s deadline.
    model_chat.script(paced(0.4, text_reply("one two three four five six seven eight nine")))
    events = stream(model_chat.url, user, "count slowly")

    assert names(events) == ["delta*", "error"]
    assert "".join(texts(events)).startswith("one two")
    (_, data, error_at) = events[-1]
    assert data["error"]["code"] == "LLM_UNAVAILABLE"
    assert data["error"]["details"]["reason"] == "turn deadline"
    assert error_at < 3 + 1.5
    stored = conversation(model_chat.url, user, data["error"]["details"]["conversation_id"])
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [("user", "count slowly")]


def test_a_model_stream_cut_mid_answer_is_an_error_event(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Renew passport"})]),
        cut(3, text_reply("Added task 1, Renew passport.")),  # role, two words, then nothing
    )
    events = stream(model_chat.url, user, "add renew passport")

    assert names(events) == ["tool_call", "delta*", "error"]
    assert texts(events) == ["Added ", "task "]
    error = events[-1][1]["error"]
    assert error["code"] == "LLM_UNAVAILABLE"  # the 502 of a JSON answer
    assert error["details"]["reason"] == "APIConnectionError"
    # The tool call that ran is stored with the user's message; the cut text is not.
    stored = conversation(model_chat.url, user, error["details"]["conversation_id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "tool"]
    assert [todo["title"] for todo in todos_of(model_chat.url, user)] == ["Renew passport"]


def test_the_offline_engine_streams_its_reply_as_one_delta(chat_gateway: ChatGateway, make_user):
    user = make_user()
    events = stream(chat_gateway.url, user, "add a task to buy groceries")

    assert names(events) == ["tool_call", "delta*", "reply", "done"]
    [text] = texts(events)
    (_, reply, _), (_, done, _) = events[-2:]
    assert text == reply["response"] == done["response"]
    assert "groceries" in text.lower()
    assert done["tool_calls"] == [events[0][1]]
