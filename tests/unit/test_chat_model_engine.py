"""What the model engine sends (the tools' schemas, the stored history as messages) and
how it puts a streamed answer back together."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from services.chat.engine_api import HistoryMessage, Turn
from services.chat.errors import LlmUnavailable
from services.chat.model_engine import (
    ModelEngine,
    StreamedAnswer,
    history_messages,
    tool_definitions,
)
from services.chat.settings import ChatSettings
from services.todos.mcp_server import create_mcp_server

TOOLS = {
    "add_task", "list_tasks", "find_tasks", "complete_task",
    "reopen_task", "delete_task", "restore_task", "update_task", "skip_task",
}  # fmt: skip


async def test_every_tool_is_offered_as_the_mcp_server_lists_it():
    listed = await create_mcp_server(unit_of_work=None).list_tools()  # type: ignore[arg-type]
    definitions = {item["function"]["name"]: item["function"] for item in tool_definitions(listed)}
    assert definitions.keys() == TOOLS
    add = definitions["add_task"]
    assert add["description"].startswith("Create a task")
    assert add["parameters"]["type"] == "object"
    assert add["parameters"]["required"] == ["title"]
    assert add["parameters"]["additionalProperties"] is False
    assert add["parameters"]["properties"]["priority"]["anyOf"][0]["enum"] == [
        "low", "medium", "high", "urgent",
    ]  # fmt: skip
    assert "$ref" not in json.dumps(definitions)  # self-contained: no dangling references


def test_history_replays_tool_calls_as_assistant_tool_calls_and_tool_messages():
    history = [
        HistoryMessage(role="user", content="add milk and bread"),
        HistoryMessage(
            role="tool",
            tool_name="add_task",
            tool_arguments={"title": "milk"},
            tool_result={"task_id": 1, "status": "created"},
        ),
        HistoryMessage(
            role="tool",
            tool_name="add_task",
            tool_arguments={"title": "bread"},
            tool_result={"task_id": 2, "status": "created"},
        ),
        HistoryMessage(role="assistant", content="Added tasks 1 and 2."),
        HistoryMessage(role="user", content="thanks"),
    ]
    messages = history_messages(history)

    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    calls = messages[1]["tool_calls"]
    assert [json.loads(call["function"]["arguments"]) for call in calls] == [
        {"title": "milk"},
        {"title": "bread"},
    ]
    assert [m["tool_call_id"] for m in messages[2:4]] == [call["id"] for call in calls]
    assert len({call["id"] for call in calls}) == 2
    assert json.loads(messages[3]["content"]) == {"task_id": 2, "status": "created"}


def test_a_window_that_starts_or_ends_with_tool_calls_still_pairs_them():
    tool = HistoryMessage(role="tool", tool_name="list_tasks", tool_arguments={}, tool_result={})
    messages = history_messages([tool, HistoryMessage(role="assistant", content="x"), tool])
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant", "assistant", "tool"]
    ids = [m["tool_calls"][0]["id"] for m in messages if m.get("tool_calls")]
    assert len(set(ids)) == 2


def chunk(finish: str | None = None, **delta: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def call_part(index: int, arguments: str, **first: str) -> dict[str, Any]:
    """One chunk's piece of tool call ``index``; ``id`` and ``name`` come in its first."""
    part: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if first:
        part.update(id=first["id"], type="function")
        part["function"]["name"] = first["name"]
    return part


def test_a_streamed_answer_gives_its_new_text_chunk_by_chunk():
    answer = StreamedAnswer()
    assert answer.add(chunk(role="assistant", content="")) == ""
    assert answer.add(chunk(content="Let me ")) == "Let me "
    assert answer.add(chunk(content="check.")) == "check."
    assert not answer.finished
    assert answer.add(chunk("stop")) == ""
    assert answer.finished
    assert answer.text == "Let me check."
    assert answer.message() == {"role": "assistant", "content": "Let me check."}


def test_tool_calls_are_put_together_from_their_pieces_by_index():
    answer = StreamedAnswer()
    parts = [
        [call_part(0, "", id="call_a", name="add_task")],
        [call_part(0, '{"title": "Bu')],
        [call_part(1, '{"task_', id="call_b", name="complete_task")],
        [call_part(0, 'y milk"}'), call_part(1, 'id": 3}')],  # interleaved, in one chunk
    ]
    for tool_calls in parts:
        assert answer.add(chunk(tool_calls=tool_calls)) == ""
    answer.add(chunk("tool_calls"))

    calls = answer.tool_calls()
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_a", "add_task", {"title": "Buy milk"}),
        ("call_b", "complete_task", {"task_id": 3}),
    ]
    message = answer.message()
    assert message["content"] is None
    assert [call["function"]["name"] for call in message["tool_calls"]] == [
        "add_task",
        "complete_task",
    ]


def test_a_call_streamed_without_an_id_gets_one_and_an_unfinished_stream_shows():
    answer = StreamedAnswer()
    answer.add(chunk(tool_calls=[{"index": 0, "function": {"name": "list_tasks"}}]))
    [call] = answer.tool_calls()
    assert call.id and call.arguments == ""
    assert not answer.finished  # the engine answers 502 for such a stream


class CutShort:
    """A model stream that ends cleanly before any finish reason (a proxy ending the body)."""

    def __init__(self, *chunks: ChatCompletionChunk) -> None:
        self.chunks = chunks

    async def __aenter__(self) -> CutShort:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        for item in self.chunks:
            yield item


class NoTools:
    async def listed(self) -> list[Any]:
        return []

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no tool is called")


async def test_a_stream_that_ends_before_the_model_finished_is_llm_unavailable():
    engine = ModelEngine(ChatSettings(openai_api_key="test-key"))
    await engine.close()

    async def create(**request: Any) -> CutShort:
        assert request["stream"] is True
        return CutShort(chunk(role="assistant", content=""), chunk(content="Half an ans"))

    fake = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    engine.client = fake  # type: ignore[assignment]
    streamed: list[str] = []

    async def on_delta(text: str) -> None:
        streamed.append(text)

    turn = Turn(message="hi", history=[], now=datetime.now(UTC), on_delta=on_delta)
    with pytest.raises(LlmUnavailable) as raised:
        await engine.run(turn, NoTools())
    assert raised.value.details == {"reason": "unfinished answer"}
    assert streamed == ["Half an ans"]
