"""What the model engine sends: the tools' schemas and the stored history as messages."""

from __future__ import annotations

import json

import msgspec

from services.chat.engine_api import HistoryMessage
from services.chat.model_engine import history_messages, tool_definitions
from services.chat.tool_args import TOOL_ARGUMENTS


def test_every_tool_is_offered_with_its_structs_schema():
    definitions = {item["function"]["name"]: item["function"] for item in tool_definitions()}
    assert definitions.keys() == TOOL_ARGUMENTS.keys()
    add = definitions["add_task"]
    assert add["description"] == "Create a task."
    assert add["parameters"]["type"] == "object"
    assert add["parameters"]["required"] == ["title"]
    assert add["parameters"]["properties"]["priority"]["anyOf"][0]["enum"] == [
        "high", "low", "medium", "urgent",
    ]  # fmt: skip
    assert "$ref" not in json.dumps(definitions)  # self-contained: no dangling references


def test_a_schema_the_model_follows_is_accepted_by_the_struct():
    sample = {"number": 2, "title": "Call mom tonight", "tags": ["family"]}
    assert msgspec.convert(sample, TOOL_ARGUMENTS["update_task"]).title == "Call mom tonight"


def test_history_replays_tool_calls_as_assistant_tool_calls_and_tool_messages():
    history = [
        HistoryMessage(role="user", content="add milk and bread"),
        HistoryMessage(
            role="tool",
            tool_name="add_task",
            tool_arguments={"title": "milk"},
            tool_result={"number": 1, "status": "created"},
        ),
        HistoryMessage(
            role="tool",
            tool_name="add_task",
            tool_arguments={"title": "bread"},
            tool_result={"number": 2, "status": "created"},
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
    assert json.loads(messages[3]["content"]) == {"number": 2, "status": "created"}


def test_a_window_that_starts_or_ends_with_tool_calls_still_pairs_them():
    tool = HistoryMessage(role="tool", tool_name="list_tasks", tool_arguments={}, tool_result={})
    messages = history_messages([tool, HistoryMessage(role="assistant", content="x"), tool])
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant", "assistant", "tool"]
    ids = [m["tool_calls"][0]["id"] for m in messages if m.get("tool_calls")]
    assert len(set(ids)) == 2
