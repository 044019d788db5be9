"""Interoperability: the OpenAI Agents SDK's Streamable HTTP MCP client, a client nobody
here wrote, connects through the gateway and lists and calls the todo tools (no model)."""

from __future__ import annotations

import json

import httpx
from agents.mcp import MCPServerStreamableHttp

from tests.support.stack import Stack, UserFactory


async def test_the_agents_sdk_lists_and_calls_the_tools(
    stack: Stack, make_user: UserFactory, api: httpx.Client
) -> None:
    user = make_user()
    params = {"url": f"{stack.gateway.url}/mcp", "headers": user.headers, "timeout": 10}
    async with MCPServerStreamableHttp(
        params, name="todo platform", cache_tools_list=True, use_structured_content=True
    ) as server:
        tools = {tool.name: tool for tool in await server.list_tools()}
        assert {"add_task", "list_tasks", "complete_task", "find_tasks"} <= set(tools)
        assert tools["add_task"].input_schema["required"] == ["title"]

        added = await server.call_tool("add_task", {"title": "Renew passport"})
        assert not added.is_error
        assert added.structured_content is not None
        number = added.structured_content["task_id"]

        done = await server.call_tool("complete_task", {"task_id": number})
        assert done.structured_content["task_status"] == "completed"

        listed = await server.call_tool("list_tasks", {"status": "completed"})
        text = json.loads(listed.content[0].text)  # what a text-only client reads
        assert [task["title"] for task in text["tasks"]] == ["Renew passport"]

        refused = await server.call_tool("complete_task", {"task_id": number + 100})
        assert refused.is_error
        assert f"no task number {number + 100}" in refused.content[0].text

    [todo] = api.get("/api/v1/todos", headers=user.headers).json()["items"]
    assert (todo["title"], todo["status"]) == ("Renew passport", "completed")
