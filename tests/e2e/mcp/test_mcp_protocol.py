"""The MCP endpoint as a protocol, through the gateway and at the todos service itself:
what a request that is not a usable JSON-RPC call gets (the protocol's error, never a 500),
that a call needs no session (stateless), and the browsers' DNS-rebinding protection with
its hosts and origins from settings.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.mcp_client import mcp_url
from tests.support.stack import Stack, User, UserFactory

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
