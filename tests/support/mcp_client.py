"""An MCP client session of the official SDK, over Streamable HTTP, with a bearer token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.support.stack import Stack


@asynccontextmanager
async def mcp_client(url: str, token: str | None, **headers: str) -> AsyncIterator[Client]:
    """A connected client of the MCP endpoint ``url`` (e.g. the gateway's ``/mcp``)."""
    sent = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
    async with (
        httpx2.AsyncClient(headers=sent, timeout=10) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    """A successful call's structured result, checked to equal its text form."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    return result.structured_content


def refusal(result: CallToolResult) -> str:
    """The message of a refused call (a tool result with isError)."""
    assert result.is_error, result.structured_content
    return result.content[0].text  # type: ignore[union-attr]


def mcp_url(stack: Stack) -> str:
    """The MCP endpoint as clients reach it: through the gateway."""
    return f"{stack.gateway.url}/mcp"
