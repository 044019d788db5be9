"""The MCP yardstick of ``make bench``: what the official MCP SDK alone costs a tool call.

The SDK's server with the product's transport settings (Streamable HTTP, stateless, JSON
responses) and one tool that lists ten items shaped like the todos' ``list_tasks`` page,
from memory: no database, no middleware, no auth, no argument check of our own. Its
fields are plain (no ``T | None``), the cheapest output schema for a client to check
results against. It runs under granian like the services; ``chat_bench.py`` calls it with
the SDK's client, one session per client held open, as the chat service does.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel


class Item(BaseModel):
    task_id: int
    id: str
    title: str
    description: str
    status: str
    priority: str
    due_at: str
    tags: list[str]


class Page(BaseModel):
    tasks: list[Item]
    next_cursor: str


ITEMS = [
    Item(
        task_id=n,
        id=f"00000000-0000-4000-8000-{n:012d}",
        title=f"benchmark task {n}",
        description="",
        status="pending",
        priority="medium",
        due_at="2026-12-31T09:00:00Z",
        tags=["bench"],
    )
    for n in range(1, 11)
]

server: MCPServer[object] = MCPServer("mcp-yardstick")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def list_items() -> Page:
    """The ten items."""
    return Page(tasks=ITEMS, next_cursor="")


def create_app() -> Any:
    mcp = server.streamable_http_app(json_response=True, stateless_http=True)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/health/live":  # what start_service polls
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await mcp(scope, receive, send)

    return app
