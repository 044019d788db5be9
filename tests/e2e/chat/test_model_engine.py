"""The model engine against a local OpenAI-compatible server (real HTTP both ways).

The fake model is scripted per test; the chat service reaches it with the openai SDK and
acts on the real todos service through the gateway's stack.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.chat import (
    MODEL_ENV,
    conversation,
    send,
    start_chat,
    todos_of,
    turn,
)
from tests.support.envelope import assert_error
from tests.support.metrics import scrape, value
from tests.support.openai_server import (
    cut,
    delayed,
    error_reply,
    paced,
    text_reply,
    tool_call_reply,
)
from tests.support.todos_api import create_todo

if TYPE_CHECKING:
    from tests.support.chat import ModelChat
    from tests.support.stack import Stack

TOOLS = {
    "add_task", "list_tasks", "find_tasks", "complete_task", "reopen_task", "update_task",
    "delete_task", "restore_task", "skip_task",
}  # fmt: skip


def last_tool_result(request: dict[str, Any]) -> dict[str, Any]:
    """The result of the last tool call as the model was given it."""
    message = request["messages"][-1]
    assert message["role"] == "tool", message
    return json.loads(message["content"])


def test_a_multi_step_turn_runs_the_tools_and_answers_with_text(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(
        tool_call_reply(
            [("add_task", {"title": "Buy milk", "priority": "high", "tags": ["home"]})]
        ),
        tool_call_reply([("list_tasks", {"status": "pending"})]),
        text_reply("Added task 1: Buy milk."),
    )
    answer = turn(model_chat.url, user, "add buy milk, high priority, then show my list")

    assert answer["response"] == "Added task 1: Buy milk."
    added, listed = answer["tool_calls"]
    assert added["name"] == "add_task"
    assert added["result"]["status"] == "created"
    assert added["result"]["task_id"] == 1
    assert added["result"]["title"] == "Buy milk"
    assert added["result"]["priority"] == "high"
    assert listed["result"]["count"] == 1
    assert listed["result"]["tasks"][0]["task_id"] == added["result"]["task_id"]
    [todo] = todos_of(model_chat.url, user)
    assert (todo["title"], todo["priority"], todo["tags"]) == ("Buy milk", "high", ["home"])

    first, second, third = model_chat.model.requests
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {
        "role": "user",
        "content": "add buy milk, high priority, then show my list",
    }
    assert {tool["function"]["name"] for tool in first["tools"]} == TOOLS
    assert last_tool_result(second)["status"] == "created"
    assert last_tool_result(third)["count"] == 1

    stored = conversation(model_chat.url, user, answer["conversation_id"])["messages"]
    assert [message["role"] for message in stored] == ["user", "tool", "tool", "assistant"]
    assert stored[1]["tool_name"] == "add_task"
    assert stored[1]["tool_result"]["task_id"] == 1
    assert stored[-1]["id"] == answer["message_id"]


def test_the_model_is_given_each_tools_json_schema(model_chat: ModelChat, make_user):
    turn(model_chat.url, make_user(), "hello")
    tools = {
        tool["function"]["name"]: tool["function"] for tool in model_chat.model.requests[0]["tools"]
    }
    update = tools["update_task"]["parameters"]
    assert update["required"] == ["task_id"]
    assert update["properties"]["task_id"]["minimum"] == 1
    assert update["additionalProperties"] is False
    # The specification's user_id is taken only as the caller's own (see the isolation test).
    assert "your own user id" in update["properties"]["user_id"]["description"]


def test_invalid_tool_arguments_come_back_to_the_model_as_tool_errors(
    model_chat: ModelChat, make_user
):
    user = make_user()
    model_chat.script(
        tool_call_reply([("complete_task", {"task_id": "three"})]),
        tool_call_reply([("add_task", "{not json")]),
        tool_call_reply([("drop_all_tables", {})]),
        text_reply("Sorry, which task?"),
    )
    answer = turn(model_chat.url, user, "complete the third one")

    assert answer["response"] == "Sorry, which task?"
    requests = model_chat.model.requests
    assert "invalid arguments for complete_task" in last_tool_result(requests[1])["error"]
    assert "not valid JSON" in last_tool_result(requests[2])["error"]
    assert "unknown tool" in last_tool_result(requests[3])["error"].lower()
    # Every attempt is recorded and stored, the one whose arguments were not JSON included.
    names = ["complete_task", "add_task", "drop_all_tables"]
    assert [call["name"] for call in answer["tool_calls"]] == names
    assert answer["tool_calls"][1]["arguments"] == {"unparsed": "{not json"}
    assert all("error" in call["result"] for call in answer["tool_calls"])
    stored = conversation(model_chat.url, user, answer["conversation_id"])["messages"]
    assert [m["tool_name"] for m in stored if m["role"] == "tool"] == names
    assert todos_of(model_chat.url, user) == []


def test_a_model_naming_another_users_task_only_reaches_the_callers_todos(
    model_chat: ModelChat, make_user, api
):
    owner, intruder = make_user(), make_user()
    create_todo(api, owner, title="Owner's secret")
    create_todo(api, owner, title="Owner's other")
    own = create_todo(api, intruder, title="Intruder's own")
    model_chat.script(
        tool_call_reply(
            [
                ("delete_task", {"task_id": 2}),
                ("complete_task", {"task_id": 1}),
                ("list_tasks", {"user_id": owner.id}),
                ("find_tasks", {"query": "secret"}),
            ]
        ),
        text_reply("Done."),
    )
    answer = turn(model_chat.url, intruder, "delete task 2 and complete task 1 of the other user")

    deleted, completed, listed, found = (call["result"] for call in answer["tool_calls"])
    assert deleted == {"error": "no task number 2"}
    assert completed["id"] == own["id"]  # "task 1" is the caller's own task 1
    assert "user_id" in listed["error"]  # another user's id is refused
    assert found == {"tasks": [], "count": 0, "has_more": False, "next_cursor": None}
    owners = todos_of(model_chat.url, owner)
    assert sorted(todo["title"] for todo in owners) == ["Owner's other", "Owner's secret"]
    assert all(todo["status"] == "pending" for todo in owners)


def test_a_model_timeout_is_502_and_keeps_the_users_message(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(delayed(5, text_reply("too late")))
    response = send(model_chat.url, user, "are you there?")

    error = assert_error(response, 502, "LLM_UNAVAILABLE")
    conversation_id = error["details"]["conversation_id"]
    stored = conversation(model_chat.url, user, conversation_id)["messages"]
    assert [(m["role"], m["content"]) for m in stored] == [("user", "are you there?")]

    # The conversation goes on, and the model sees the unanswered message in the history.
    model_chat.script(text_reply("Back now."))
    answer = turn(model_chat.url, user, "hello again", conversation_id)
    assert answer["response"] == "Back now."
    contents = [m.get("content") for m in model_chat.model.requests[0]["messages"]]
    assert contents[-2:] == ["are you there?", "hello again"]


def test_a_turn_whose_model_requests_outlast_the_turn_deadline_is_502(
    model_chat: ModelChat, make_user
):
    user = make_user()
    # Each answer comes within the 2 s request timeout; together they pass the 3 s deadline.
    model_chat.script(
        delayed(1.2, tool_call_reply([("list_tasks", {})])),
        delayed(1.2, tool_call_reply([("list_tasks", {})])),
        delayed(1.2, text_reply("finally")),
    )
    error = assert_error(send(model_chat.url, user, "slowly please"), 502, "LLM_UNAVAILABLE")
    assert error["details"]["reason"] == "turn deadline"
    stored = conversation(model_chat.url, user, error["details"]["conversation_id"])["messages"]
    # The second call came with less than TODOS_TIMEOUT of the turn left: refused, not run,
    # so the turn as a whole still ended by its deadline.
    assert [m["role"] for m in stored] == ["user", "tool"]
    refused = last_tool_result(model_chat.model.requests[2])
    assert refused == {"error": "no time left in this turn for another tool call"}


def test_a_model_error_is_502_and_keeps_the_tool_calls_it_made(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Water plants"})]),
        error_reply(500, "model crashed"),
    )
    response = send(model_chat.url, user, "add water plants")

    error = assert_error(response, 502, "LLM_UNAVAILABLE")
    stored = conversation(model_chat.url, user, error["details"]["conversation_id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "tool"]
    assert stored[1]["tool_result"]["status"] == "created"
    assert [todo["title"] for todo in todos_of(model_chat.url, user)] == ["Water plants"]


def test_the_model_streams_and_the_json_answer_is_its_last_rounds_text(
    model_chat: ModelChat, make_user
):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Pay the rent, by Friday"})], saying="On it. "),
        text_reply("Added task 1: Pay the rent, by Friday."),
    )
    answer = turn(model_chat.url, user, "add pay the rent by friday")

    # Each answer came in pieces: the words one by one, the arguments a few characters a chunk.
    assert answer["response"] == "Added task 1: Pay the rent, by Friday."
    [added] = answer["tool_calls"]
    assert added["arguments"] == {"title": "Pay the rent, by Friday"}
    assert added["result"]["title"] == "Pay the rent, by Friday"
    assert [request["stream"] for request in model_chat.model.requests] == [True, True]
    said = model_chat.model.requests[1]["messages"][-2]
    assert (said["role"], said["content"]) == ("assistant", "On it. ")
    assert json.loads(said["tool_calls"][0]["function"]["arguments"]) == added["arguments"]
    stored = conversation(model_chat.url, user, answer["conversation_id"])["messages"]
    assert [m["content"] for m in stored if m["role"] == "assistant"] == [answer["response"]]


def test_a_model_stream_cut_mid_answer_is_502_and_keeps_the_tool_calls(
    model_chat: ModelChat, make_user
):
    user = make_user()
    before = scrape(model_chat.chat.url)
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Water plants"})]),
        cut(3, text_reply("Added task 1: Water plants.")),
    )
    response = send(model_chat.url, user, "add water plants")

    error = assert_error(response, 502, "LLM_UNAVAILABLE")
    assert error["details"]["reason"] == "APIConnectionError"
    stored = conversation(model_chat.url, user, error["details"]["conversation_id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "tool"]
    assert [todo["title"] for todo in todos_of(model_chat.url, user)] == ["Water plants"]
    after = scrape(model_chat.chat.url)
    kind = {"caller": "chat", "kind": "connection"}
    assert value(after, "llm_errors_total", **kind) - value(before, "llm_errors_total", **kind) == 1


def test_a_model_still_streaming_at_the_turn_deadline_is_502(model_chat: ModelChat, make_user):
    user = make_user()
    # Every chunk within the 2 s request timeout, the whole answer past the 3 s deadline.
    model_chat.script(paced(0.4, text_reply("one two three four five six seven eight nine")))
    response = send(model_chat.url, user, "count slowly")

    error = assert_error(response, 502, "LLM_UNAVAILABLE")
    assert error["details"]["reason"] == "turn deadline"
    assert response.elapsed.total_seconds() < 3 + 1.5
    stored = conversation(model_chat.url, user, error["details"]["conversation_id"])["messages"]
    assert [(m["role"], m["content"]) for m in stored] == [("user", "count slowly")]


def test_an_empty_answer_is_502(model_chat: ModelChat, make_user):
    model_chat.script(text_reply("  "))
    error = assert_error(send(model_chat.url, make_user(), "say nothing"), 502, "LLM_UNAVAILABLE")
    assert error["details"]["reason"] == "empty answer"


def test_the_step_limit_ends_a_runaway_loop(model_chat: ModelChat, make_user):
    model_chat.script(tool_call_reply([("list_tasks", {})]))
    answer = turn(model_chat.url, make_user(), "loop forever")

    assert len(model_chat.model.requests) == 6
    assert len(answer["tool_calls"]) == 6
    assert answer["response"].startswith("I stopped after 6 rounds")


def test_tool_calls_per_turn_are_capped_whatever_the_rounds(model_chat: ModelChat, make_user):
    model_chat.script(tool_call_reply([("list_tasks", {})] * 25), text_reply("Listed."))
    answer = turn(model_chat.url, make_user(), "list it 25 times")

    assert len(answer["tool_calls"]) == 20  # CHAT_MAX_TOOL_CALLS; the rest never ran
    results = model_chat.model.requests[1]["messages"][-25:]
    assert [json.loads(m["content"]) for m in results[20:]] == [
        {"error": "too many tool calls in one turn"}
    ] * 5


def test_a_time_without_an_offset_is_the_users_local_time(model_chat: ModelChat, make_user):
    user = make_user()
    model_chat.script(
        tool_call_reply([("add_task", {"title": "Call mom", "due_at": "2030-05-01T17:00:00"})]),
        text_reply("Added."),
    )
    response = send(model_chat.url, user, "call mom at 5pm", headers={"X-Timezone": "Europe/Paris"})
    assert response.status_code == 200, response.text
    assert todos_of(model_chat.url, user)[0]["due_at"] == "2030-05-01T15:00:00Z"  # 17:00 CEST


def test_the_users_time_zone_reaches_the_model(model_chat: ModelChat, make_user):
    user = make_user()
    response = send(model_chat.url, user, "hi", headers={"X-Timezone": "Asia/Tokyo"})
    assert response.status_code == 200, response.text
    system = model_chat.model.requests[0]["messages"][0]["content"]
    assert "Asia/Tokyo" in system
    assert "+09:00" in system


def test_an_unknown_time_zone_is_400(model_chat: ModelChat, make_user):
    response = send(model_chat.url, make_user(), "hi", headers={"X-Timezone": "Mars/Olympus"})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert model_chat.model.requests == []


def test_a_todos_outage_is_503_not_500(stack: Stack, model_chat: ModelChat, make_user):
    chat = start_chat(
        stack,
        TODOS_URL="http://127.0.0.1:9",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=model_chat.model.base_url,
        **MODEL_ENV,
    )
    try:
        user = make_user()
        model_chat.script(tool_call_reply([("list_tasks", {})]), text_reply("unreachable"))
        response = send(chat.url, user, "what's pending?")
        error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
        stored = httpx.get(
            f"{chat.url}/api/v1/chat/conversations/{error['details']['conversation_id']}",
            headers=user.headers,
        ).json()["messages"]
        assert [m["content"] for m in stored] == ["what's pending?"]
    finally:
        chat.stop()


def test_each_tool_answers_in_the_documented_shape(model_chat: ModelChat, make_user, api):
    user = make_user()
    create_todo(api, user, title="Book flights", tags=["trip"])
    model_chat.script(
        tool_call_reply(
            [
                ("complete_task", {"task_id": 1}),
                ("reopen_task", {"task_id": 1}),
                (
                    "update_task",
                    {"task_id": 1, "priority": "urgent", "due_at": "2030-05-01T09:00:00+02:00"},
                ),
                ("delete_task", {"task_id": 1}),
                ("restore_task", {"task_id": 1}),
                ("restore_task", {"task_id": 1}),
                ("find_tasks", {"query": "FLIGHT"}),
                ("complete_task", {"task_id": 7}),
            ]
        ),
        text_reply("Done."),
    )
    answer = turn(model_chat.url, user, "do all the things")
    results = [call["result"] for call in answer["tool_calls"]]
    acted = {
        "task_id", "id", "status", "title", "description", "priority", "due_at", "tags",
        "recurrence", "time_zone", "remind_at", "remind_before", "task_status",
        "next_task_id", "next_due_at",
    }  # fmt: skip
    for result, status in zip(
        results[:5], ["completed", "reopened", "updated", "deleted", "restored"], strict=True
    ):
        assert set(result) == acted
        assert (result["task_id"], result["status"], result["title"]) == (1, status, "Book flights")
    assert results[0]["task_status"] == "completed"
    assert results[1]["task_status"] == "pending"
    assert results[2]["priority"] == "urgent"
    assert results[2]["due_at"].startswith("2030-05-01T07:00:00")
    assert results[5] == {"error": "task 1 is not deleted"}
    found = results[6]
    assert found["count"] == 1
    assert set(found["tasks"][0]) == {
        "task_id", "id", "title", "description", "status", "priority", "due_at", "tags",
        "recurrence", "time_zone", "remind_at", "remind_before",
    }  # fmt: skip
    assert results[7] == {"error": "no task number 7"}
    [todo] = todos_of(model_chat.url, user)
    assert (todo["priority"], todo["status"], todo["tags"]) == ("urgent", "pending", ["trip"])


def test_tool_calls_reach_the_todos_mcp_endpoint_with_the_request_id(
    stack: Stack, model_chat: ModelChat, make_user
):
    model_chat.script(tool_call_reply([("list_tasks", {})]), text_reply("Nothing yet."))
    request_id = f"chat-trace-{uuid.uuid4().hex[:8]}"
    response = send(model_chat.url, make_user(), "list", headers={"X-Request-ID": request_id})
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id
    todos_log = [line for line in stack.todos.log().splitlines() if request_id in line]
    # The tools are the todos service's MCP server: the chat service has no REST client.
    assert any("POST /mcp 200" in line for line in todos_log), todos_log
    assert not any("/api/v1/todos" in line for line in todos_log), todos_log
