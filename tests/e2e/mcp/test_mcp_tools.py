"""The todo tools through the gateway's ``/mcp``, with the official SDK's client.

Each test connects as a real user (a login's access token) and checks what a client of the
tools sees: the tool list with schemas and annotations, each tool's structured result, the
refusals a model can act on, and that nobody reaches another user's tasks.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.mcp_client import mcp_client, refusal, structured
from tests.support.stack import Stack, User, UserFactory

TOOLS = {
    "add_task", "list_tasks", "find_tasks", "complete_task",
    "reopen_task", "delete_task", "restore_task", "update_task", "skip_task",
}  # fmt: skip
BY_NUMBER = [
    "complete_task", "reopen_task", "delete_task", "restore_task", "update_task", "skip_task",
]  # fmt: skip


def mcp_url(stack: Stack) -> str:
    return f"{stack.gateway.url}/mcp"


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


TARGETS = ["gateway", "todos"]
PARSE_ERROR, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32601, -32602
# A JSON value that is no JSON-RPC message: JSON-RPC says -32600 (invalid request); the SDK
# answers -32602 (its message validation failed). Either is the protocol's error.
NOT_A_REQUEST = {-32600, INVALID_PARAMS}


def endpoint(stack: Stack, target: str) -> str:
    """The MCP endpoint through the gateway, or the todos service's own (a login's JWT is
    accepted by both)."""
    return mcp_url(stack) if target == "gateway" else f"{stack.todos.url}/mcp"


def post_rpc(url: str, user: User, body: bytes | dict[str, Any], **headers: str) -> httpx.Response:
    """One raw POST of ``body``, as a client that has not called ``initialize`` sends it."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {
        **user.headers,
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **headers,
    }
    return httpx.post(url, content=content, headers=sent, timeout=10)


def tool_call(name: Any, arguments: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}  # fmt: skip


def json_rpc_error(answer: httpx.Response, status: int, codes: set[int], id_: Any) -> str:
    """A JSON-RPC error response (never the gateway's error envelope); its message."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"jsonrpc", "id", "error"}, body
    assert body["jsonrpc"] == "2.0" and body["id"] == id_, body
    code = body["error"]["code"]
    assert isinstance(code, int) and code in codes, body
    assert -32768 <= code <= -32000  # the range JSON-RPC reserves for its own errors
    message: str = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("body", "status", "codes", "id_"),
    [
        (b"not json", 400, {PARSE_ERROR}, None),
        (b"\xff\xfe", 400, {PARSE_ERROR}, None),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"', 400, {PARSE_ERROR}, None),
        (b"{}", 400, NOT_A_REQUEST, None),
        (b"[]", 400, NOT_A_REQUEST, None),
        (b'"tools/list"', 400, NOT_A_REQUEST, None),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 7}', 400, NOT_A_REQUEST, None),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', 400, NOT_A_REQUEST, None),
        (b'{"id": 1, "method": "tools/list"}', 400, NOT_A_REQUEST, None),
        # A well-formed request the server cannot serve: the error answers its id.
        (b'{"jsonrpc": "2.0", "id": 1, "method": "no/such_method"}', 200, {METHOD_NOT_FOUND}, 1),
        (json.dumps(tool_call(5, {})).encode(), 200, {INVALID_PARAMS}, 7),
        (json.dumps(tool_call("complete_task", [1])).encode(), 200, {INVALID_PARAMS}, 7),
        (json.dumps(tool_call("complete_task", "1")).encode(), 200, {INVALID_PARAMS}, 7),
    ],
)
def test_malformed_json_rpc_gets_a_protocol_error_never_a_500(
    stack: Stack,
    make_user: UserFactory,
    target: str,
    body: bytes,
    status: int,
    codes: set[int],
    id_: Any,
) -> None:
    """The SDK's JSON-RPC error, directly and through the gateway alike: the gateway
    forwards it as it is, and no malformed request is a 500 or the gateway's envelope."""
    answer = post_rpc(endpoint(stack, target), make_user(), body)
    json_rpc_error(answer, status, codes, id_)
    assert "mcp-session-id" not in answer.headers


@pytest.mark.parametrize("target", TARGETS)
def test_an_unknown_tool_or_a_wrong_type_is_a_tool_error_never_a_500(
    stack: Stack, make_user: UserFactory, api: httpx.Client, target: str
) -> None:
    """A tools/call the protocol accepts but the tool cannot take is a result with isError
    (a model reads it and tries again), not a protocol error."""
    user = make_user()
    url = endpoint(stack, target)
    for call_, expected in (
        (tool_call("no_such_tool", {}), "Unknown tool: no_such_tool"),
        (tool_call("complete_task", {"task_id": "3"}), "task_id: '3' is not of type 'integer'"),
        (tool_call("add_task", {"title": 5}), "title: 5 is not of type 'string'"),
        (tool_call("add_task", {"title": "ok", "tags": "one"}), "tags: 'one' is not of type"),
        (tool_call("list_tasks", {"limit": "many"}), "limit: 'many' is not of type 'integer'"),
    ):
        answer = post_rpc(url, user, call_)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 7 and "error" not in body, body
        result = body["result"]
        assert result["isError"] is True, result
        assert expected in result["content"][0]["text"], result
    assert api.get("/api/v1/todos", headers=user.headers).json()["items"] == []


@pytest.mark.parametrize("target", TARGETS)
def test_a_bare_tools_call_needs_no_initialize_and_opens_no_session(
    stack: Stack, make_user: UserFactory, api: httpx.Client, target: str
) -> None:
    """Stateless: a POST with a tools/call and nothing before it (no initialize, no
    Mcp-Session-Id, no Mcp-Protocol-Version) is answered in full, as JSON, and no answer
    starts a session, so any replica can answer the next call."""
    user = make_user()
    url = endpoint(stack, target)
    added = post_rpc(url, user, tool_call("add_task", {"title": f"Bare call via {target}"}))
    assert added.status_code == 200, added.text
    assert added.headers["content-type"] == "application/json"
    assert "mcp-session-id" not in added.headers
    body = added.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == 7, body
    assert body["result"]["isError"] is False, body
    task = body["result"]["structuredContent"]
    assert (task["status"], task["title"]) == ("created", f"Bare call via {target}")
    [stored] = api.get("/api/v1/todos", headers=user.headers).json()["items"]
    assert (stored["id"], stored["number"]) == (task["id"], task["task_id"])

    # The next bare call, again without a session, sees the task.
    listed = post_rpc(url, user, tool_call("list_tasks", {}))
    assert listed.status_code == 200 and "mcp-session-id" not in listed.headers
    assert [t["task_id"] for t in listed.json()["result"]["structuredContent"]["tasks"]] == [
        task["task_id"]
    ]
    # Even an initialize opens no session.
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "bare", "version": "1"}}}  # fmt: skip
    initialized = post_rpc(url, user, hello)
    assert initialized.status_code == 200, initialized.text
    assert initialized.headers["content-type"] == "application/json"
    assert "mcp-session-id" not in initialized.headers
    assert initialized.json()["result"]["serverInfo"]["name"] == "todos"


def test_the_dns_rebinding_protection_is_on(stack: Stack, make_user: UserFactory) -> None:
    """A page on another site cannot drive the endpoint through a user's browser: a foreign
    Host (a rebound DNS name) or Origin is refused before any tool runs."""
    user = make_user()
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "add_task", "arguments": {"title": "Planted"}}}  # fmt: skip
    headers = {**user.headers, "Accept": "application/json, text/event-stream"}
    direct = f"{stack.todos.url}/mcp"
    rebound = httpx.post(direct, json=call, headers={**headers, "Host": "evil.example"})
    assert rebound.status_code == 421
    for url in (direct, mcp_url(stack)):
        foreign = httpx.post(url, json=call, headers={**headers, "Origin": "https://evil.example"})
        assert foreign.status_code == 403, url
    todos = httpx.get(f"{stack.gateway.url}/api/v1/todos", headers=user.headers).json()
    assert todos["items"] == []


def test_the_allowed_hosts_and_origins_come_from_settings(
    stack: Stack, make_user: UserFactory
) -> None:
    """MCP_ALLOWED_HOSTS / MCP_ALLOWED_ORIGINS replace the local defaults: the names listed
    are served, the defaults they replaced are refused."""
    todos = stack.start_todos(
        mcp_allowed_hosts="todos.internal:*", mcp_allowed_origins="https://app.example"
    )
    try:
        user = make_user()
        url = f"{todos.url}/mcp"
        headers = {**user.headers, "Accept": "application/json, text/event-stream"}
        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "list_tasks", "arguments": {}}}  # fmt: skip
        listed = {**headers, "Host": "todos.internal:8001", "Origin": "https://app.example"}
        assert httpx.post(url, json=listing, headers=listed).status_code == 200
        local_host = httpx.post(url, json=listing, headers=headers)  # Host: 127.0.0.1:port
        assert local_host.status_code == 421
        local_origin = {**listed, "Origin": "http://localhost:3000"}
        assert httpx.post(url, json=listing, headers=local_origin).status_code == 403
    finally:
        todos.stop()
