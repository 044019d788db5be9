"""The todo tools through the gateway's ``/mcp``, with the official SDK's client.

Each test connects as a real user (a login's access token) and checks what a client of the
tools sees: the tool list with schemas and annotations, each tool's structured result, the
refusals a model can act on, and that nobody reaches another user's tasks.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.mcp_client import mcp_client, mcp_url, refusal, structured
from tests.support.stack import Stack, User, UserFactory

TOOLS = {
    "add_task", "list_tasks", "find_tasks", "complete_task",
    "reopen_task", "delete_task", "restore_task", "update_task", "skip_task",
}  # fmt: skip
BY_NUMBER = [
    "complete_task", "reopen_task", "delete_task", "restore_task", "update_task", "skip_task",
]  # fmt: skip


async def call(stack: Stack, user: User, tool: str, arguments: dict[str, Any], **headers: str):
    async with mcp_client(mcp_url(stack), user.access_token, **headers) as client:
        return await client.call_tool(tool, arguments)


def todo_by_number(api: httpx.Client, user: User, number: int) -> dict[str, Any] | None:
    found = api.get("/api/v1/todos", params={"number": number}, headers=user.headers)
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    return items[0] if items else None


async def test_the_tools_are_listed_with_schemas_and_annotations(
    stack: Stack, make_user: UserFactory
) -> None:
    async with mcp_client(mcp_url(stack), make_user().access_token) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    for tool in listed.values():
        assert tool.description and len(tool.description) > 20, tool.name
        # Published clean: not with the docstring's source indentation.
        assert "\n " not in tool.description, (tool.name, tool.description)
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and "task_id" in str(tool.output_schema)
        assert tool.annotations is not None
        assert "user_id" in tool.input_schema["properties"], tool.name
    for name in ("add_task", "update_task"):  # how to write the rule, in the tool's own words
        description = listed[name].description or ""
        assert "RRULE" in description and "FREQ=WEEKLY;BYDAY=MO" in description, name
    assert listed["add_task"].input_schema["required"] == ["title"]
    assert listed["find_tasks"].input_schema["required"] == ["query"]
    for name in BY_NUMBER:
        assert listed[name].input_schema["required"] == ["task_id"]
    for name in ("list_tasks", "find_tasks"):
        assert listed[name].annotations.read_only_hint is True
    assert listed["delete_task"].annotations.destructive_hint is True
    assert listed["add_task"].annotations.read_only_hint is False
    for name in ("complete_task", "reopen_task", "delete_task", "restore_task", "update_task"):
        assert listed[name].annotations.idempotent_hint is True, name
    assert listed["add_task"].annotations.idempotent_hint is False


async def test_each_tool_acts_on_the_callers_tasks(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user = make_user()
    async with mcp_client(mcp_url(stack), user.access_token) as client:
        added = structured(
            await client.call_tool(
                "add_task",
                {
                    "title": "Call mom",
                    "priority": "high",
                    "tags": ["family"],
                    "due_at": "2027-03-06T17:00:00Z",
                },
            )
        )
        assert added["status"] == "created" and added["task_status"] == "pending"
        assert added["title"] == "Call mom" and added["priority"] == "high"
        assert added["tags"] == ["family"] and added["due_at"] == "2027-03-06T17:00:00Z"
        number = added["task_id"]
        assert isinstance(number, int) and number >= 1
        stored = todo_by_number(api, user, number)
        assert stored is not None and stored["id"] == added["id"]

        structured(await client.call_tool("add_task", {"title": "Buy milk"}))
        listed = structured(await client.call_tool("list_tasks", {}))
        assert [t["title"] for t in listed["tasks"]] == ["Call mom", "Buy milk"]
        assert listed["count"] == 2 and listed["has_more"] is False
        first = structured(await client.call_tool("list_tasks", {"limit": 1}))
        assert first["has_more"] is True and first["tasks"][0]["title"] == "Call mom"
        rest = structured(
            await client.call_tool("list_tasks", {"limit": 1, "cursor": first["next_cursor"]})
        )
        assert [t["title"] for t in rest["tasks"]] == ["Buy milk"]

        found = structured(await client.call_tool("find_tasks", {"query": "mom"}))
        assert [t["task_id"] for t in found["tasks"]] == [number]

        updated = structured(
            await client.call_tool("update_task", {"task_id": number, "title": "Call mum"})
        )
        assert updated["status"] == "updated" and updated["title"] == "Call mum"

        done = structured(await client.call_tool("complete_task", {"task_id": number}))
        assert (done["status"], done["task_status"]) == ("completed", "completed")
        again = structured(await client.call_tool("complete_task", {"task_id": number}))
        assert again["task_status"] == "completed"  # idempotent
        pending = structured(await client.call_tool("list_tasks", {"status": "completed"}))
        assert [t["task_id"] for t in pending["tasks"]] == [number]

        reopened = structured(await client.call_tool("reopen_task", {"task_id": number}))
        assert (reopened["status"], reopened["task_status"]) == ("reopened", "pending")

        deleted = structured(await client.call_tool("delete_task", {"task_id": number}))
        assert deleted["status"] == "deleted"
        assert todo_by_number(api, user, number) is None
        gone = refusal(await client.call_tool("complete_task", {"task_id": number}))
        assert f"no task number {number}" in gone

        restored = structured(await client.call_tool("restore_task", {"task_id": number}))
        assert restored["status"] == "restored"
        assert todo_by_number(api, user, number) is not None
        not_deleted = refusal(await client.call_tool("restore_task", {"task_id": number}))
        assert f"task {number} is not deleted" in not_deleted


async def test_another_users_task_number_is_no_task(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    owner, stranger = make_user(), make_user()
    added = structured(await call(stack, owner, "add_task", {"title": "Mine"}))
    number = added["task_id"]
    async with mcp_client(mcp_url(stack), stranger.access_token) as client:
        for tool in BY_NUMBER:
            arguments: dict[str, Any] = {"task_id": number}
            if tool == "update_task":
                arguments["title"] = "Taken over"
            message = refusal(await client.call_tool(tool, arguments))
            assert f"no task number {number}" in message, tool
        listed = structured(await client.call_tool("list_tasks", {}))
        found = structured(await client.call_tool("find_tasks", {"query": "Mine"}))
        assert listed["tasks"] == [] and found["tasks"] == []
    todo = todo_by_number(api, owner, number)
    assert todo is not None and (todo["title"], todo["status"]) == ("Mine", "pending")


async def test_a_user_id_is_accepted_only_when_it_is_the_callers(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user, other = make_user(), make_user()
    mine = structured(await call(stack, user, "add_task", {"title": "A", "user_id": user.id}))
    assert mine["title"] == "A"
    arguments: dict[str, dict[str, Any]] = {
        "add_task": {"title": "B"},
        "list_tasks": {},
        "find_tasks": {"query": "A"},
        "update_task": {"task_id": mine["task_id"], "title": "C"},
        **{tool: {"task_id": mine["task_id"]} for tool in BY_NUMBER if tool != "update_task"},
    }
    async with mcp_client(mcp_url(stack), user.access_token) as client:
        for tool, given in arguments.items():
            message = refusal(await client.call_tool(tool, {**given, "user_id": other.id}))
            assert "user_id" in message, tool
    todos = api.get("/api/v1/todos", headers=user.headers).json()["items"]
    assert [(t["title"], t["status"]) for t in todos] == [("A", "pending")]


async def test_bad_arguments_are_tool_errors_that_change_nothing(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user = make_user()
    async with mcp_client(mcp_url(stack), user.access_token) as client:
        for arguments in (
            {"title": ""},
            {"title": "   "},
            {"title": "nul \x00 inside"},
            {"title": "x" * 256},
            {"title": "ok", "priority": "whenever"},
            {"title": "ok", "due_at": "not a date"},
            {"title": "ok", "due_at": "9999-12-31T23:59:59-14:00"},
            {"title": "ok", "due_at": "0001-01-01T00:00:00+14:00"},
            {"title": "ok", "tags": ["a\x00"]},
            {"title": "ok", "description": "\x00"},
            {"title": "ok", "tags": ["t"] * 21},
            {"title": "ok", "unknown": 1},
        ):
            message = refusal(await client.call_tool("add_task", arguments))
            assert message, arguments
        assert "task_id" in refusal(await client.call_tool("complete_task", {"task_id": 0}))
        assert "task_id" in refusal(await client.call_tool("complete_task", {"task_id": "3"}))
        assert refusal(await client.call_tool("find_tasks", {"query": "meet\x00ing"}))
        assert "task_id" in refusal(await client.call_tool("complete_task", {"task_id": 2**31}))
        assert "nothing to change" in refusal(await client.call_tool("update_task", {"task_id": 1}))
        assert "no task number 1" in refusal(
            await client.call_tool("update_task", {"task_id": 1, "title": "x"})
        )
        assert refusal(await client.call_tool("no_such_tool", {}))
    assert api.get("/api/v1/todos", headers=user.headers).json()["items"] == []


async def test_a_time_without_offset_is_in_the_users_zone(
    stack: Stack, make_user: UserFactory
) -> None:
    user = make_user()
    added = structured(
        await call(
            stack,
            user,
            "add_task",
            {"title": "Dentist", "due_at": "2027-03-06T17:00:00"},
            **{"X-Timezone": "Europe/Berlin"},
        )
    )
    assert added["due_at"] == "2027-03-06T16:00:00Z"
    unknown = await call(stack, user, "add_task", {"title": "x"}, **{"X-Timezone": "Mars/Base"})
    assert "IANA" in refusal(unknown)


def test_without_a_token_the_answer_points_at_the_resource_metadata(stack: Stack) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = httpx.post(mcp_url(stack), json=initialize, headers=headers, timeout=10)
        assert answer.status_code == 401
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        metadata_url = f"{stack.gateway.url}/.well-known/oauth-protected-resource/mcp"
        assert f'resource_metadata="{metadata_url}"' in challenge
        assert answer.json()["error"]["code"] == "UNAUTHORIZED"
    metadata = httpx.get(metadata_url, timeout=10)
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == mcp_url(stack)
    assert set(metadata.json()["scopes_supported"]) >= {"todos:read", "todos:write"}
