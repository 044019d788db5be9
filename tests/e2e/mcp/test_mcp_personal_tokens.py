"""MCP clients connect with personal access tokens: within the token's scopes, only to its
owner's tasks, and not after it is revoked (within the gateway's stated bound)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.mcp_client import mcp_client, refusal, structured
from tests.support.stack import Stack, User, UserFactory

REVOCATION_BOUND = 5.0  # PERSONAL_TOKEN_CACHE_SECONDS, the gateway's default


def personal_token(api: httpx.Client, user: User, *scopes: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "MCP client", **({"scopes": list(scopes)} if scopes else {})}
    created = api.post("/api/v1/auth/tokens", json=body, headers=user.headers)
    assert created.status_code == 201, created.text
    return created.json()


async def test_a_personal_token_manages_its_owners_tasks(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    owner, other = make_user(), make_user()
    token = personal_token(api, owner)["token"]
    async with mcp_client(f"{stack.gateway.url}/mcp", token) as client:
        added = structured(await client.call_tool("add_task", {"title": "Water plants"}))
        done = structured(await client.call_tool("complete_task", {"task_id": added["task_id"]}))
        assert done["task_status"] == "completed"
    [todo] = api.get("/api/v1/todos", headers=owner.headers).json()["items"]
    assert (todo["title"], todo["status"]) == ("Water plants", "completed")
    assert api.get("/api/v1/todos", headers=other.headers).json()["items"] == []


async def test_a_read_only_token_can_list_but_not_add(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user = make_user()
    api.post("/api/v1/todos", json={"title": "Existing"}, headers=user.headers)
    token = personal_token(api, user, "todos:read")["token"]
    async with mcp_client(f"{stack.gateway.url}/mcp", token) as client:
        listed = structured(await client.call_tool("list_tasks", {}))
        assert [task["title"] for task in listed["tasks"]] == ["Existing"]
        for tool, arguments in (
            ("add_task", {"title": "Sneaky"}),
            ("complete_task", {"task_id": 1}),
            ("delete_task", {"task_id": 1}),
            ("update_task", {"task_id": 1, "title": "Renamed"}),
        ):
            assert "todos:write" in refusal(await client.call_tool(tool, arguments)), tool
    [todo] = api.get("/api/v1/todos", headers=user.headers).json()["items"]
    assert (todo["title"], todo["status"]) == ("Existing", "pending")


def test_a_token_without_todo_scopes_cannot_reach_the_endpoint(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    token = personal_token(api, make_user(), "contexts")["token"]
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answer = httpx.post(
        f"{stack.gateway.url}/mcp",
        json=call,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "INSUFFICIENT_SCOPE"


async def test_a_revoked_token_stops_working_within_the_bound(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user = make_user()
    made = personal_token(api, user)
    async with mcp_client(f"{stack.gateway.url}/mcp", made["token"]) as client:
        structured(await client.call_tool("list_tasks", {}))
    revoked = api.delete(f"/api/v1/auth/tokens/{made['id']}", headers=user.headers)
    assert revoked.status_code == 204
    started = time.monotonic()
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Authorization": f"Bearer {made['token']}", "Accept": "application/json"}
    while True:
        answer = httpx.post(f"{stack.gateway.url}/mcp", json=call, headers=headers, timeout=10)
        if answer.status_code == 401:
            break
        assert time.monotonic() - started < REVOCATION_BOUND + 1.0, "still accepted"
        time.sleep(0.2)
    assert "resource_metadata=" in answer.headers["www-authenticate"]
