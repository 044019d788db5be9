"""The todo tools as the assistant reaches them: a client of the todos service's MCP server.

The chat service implements no tool: both engines call the tools the todos service serves
at ``/mcp`` (the same server every MCP client uses), with the official SDK's client and the
caller's own token, so the todos service applies its isolation and the token's scopes. One
pooled HTTP transport per process serves every turn; a turn opens its MCP client session on
its first call and closes it at its end. The tool list is the same for every caller and
the server says so (a public cache hint): every session reads it from one response cache
of the process, so a turn costs no listing round trip.

An unreachable todos service is a 503, a slow one a 504: the turn fails with the
dependency's status, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client import CacheConfig, InMemoryResponseCacheStore
from mcp.client.streamable_http import streamable_http_client
from mcp.types import LATEST_PROTOCOL_VERSION, CallToolResult, Tool

from shared.errors import AppError, ServiceUnavailable, UpstreamTimeout
from shared.logging import request_id_var

logger = logging.getLogger("chat.todo_tools")


class _SharedTransport(httpx2.AsyncBaseTransport):
    """The process's connection pool, lent to each turn's client (which must not close it)."""

    def __init__(self, pool: httpx2.AsyncHTTPTransport) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.pool.handle_async_request(request)

    async def aclose(self) -> None:
        pass


class TodoTools:
    """The todos service's MCP endpoint, for every turn of this process."""

    def __init__(self, todos_url: str, timeout: float) -> None:
        self.url = todos_url.rstrip("/") + "/mcp"
        self.timeout = timeout
        self._pool: httpx2.AsyncHTTPTransport | None = None
        self.listings = InMemoryResponseCacheStore()  # the tool list, shared by every turn

    @asynccontextmanager
    async def lifespan(self, _: Any = None) -> AsyncIterator[None]:
        self._pool = httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=64, keepalive_expiry=15)
        )
        try:
            yield
        finally:
            await self._pool.aclose()

    def session(self, authorization: str, zone: str, user_id: str) -> ToolSession:
        """The tools of one turn, called as the caller (their ``Authorization`` header;
        ``user_id``, verified from it, keeps what the cache holds privately apart)."""
        assert self._pool is not None, "open while the app runs"
        headers = {
            "Authorization": authorization,
            "X-Request-ID": request_id_var.get(),  # one id through both services' logs
            "X-Timezone": zone,  # a time without offset is the user's wall clock
        }
        http = httpx2.AsyncClient(
            transport=_SharedTransport(self._pool), headers=headers, timeout=self.timeout
        )
        cache = CacheConfig(
            store=self.listings, partition=user_id, share_public=True, target_id=self.url
        )
        return ToolSession(self.url, http, cache)


class ToolSession:
    """One turn's MCP client session, opened by the first call; :meth:`aclose` ends it."""

    def __init__(self, url: str, http: httpx2.AsyncClient, cache: CacheConfig) -> None:
        self.url = url
        self.http = http
        self.cache = cache
        self._stack = AsyncExitStack()
        self._client: Client | None = None

    async def list(self) -> list[Tool]:
        """The tools as the MCP server lists them (from the process's cache while fresh)."""
        result = await self._request(lambda client: client.list_tools())
        return list(result.tools)

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The tool's structured result, or ``{"error": message}`` when it refused."""
        result: CallToolResult = await self._request(lambda c: c.call_tool(name, arguments))
        if result.is_error:
            return {"error": _text(result).removeprefix(f"Error executing tool {name}: ")}
        if isinstance(result.structured_content, dict):
            return result.structured_content
        return {"result": _text(result)}

    async def aclose(self) -> None:
        try:
            await self._stack.aclose()
        except Exception as exc:  # the turn is answered already; the session just ends
            logger.warning("closing the MCP session failed: %r", exc)
        await self.http.aclose()

    async def _request(self, request: Any) -> Any:
        try:
            if self._client is None:
                transport = streamable_http_client(self.url, http_client=self.http)
                client = Client(transport, mode=LATEST_PROTOCOL_VERSION, cache=self.cache)
                self._client = await self._stack.enter_async_context(client)
                # The session knows the tools' output schemas (it checks results against
                # them) once it has the listing: from the cache, without a round trip.
                await self._client.list_tools()
            return await request(self._client)
        except AppError:
            raise
        except asyncio.CancelledError:
            # When its transport fails, the client's task group cancels the waiting call;
            # the failure itself comes out as the group closes (an outside cancel goes on).
            self._client = None
            try:
                await self._stack.aclose()
            except Exception as exc:
                raise _outage(exc) from exc
            raise
        except Exception as exc:
            raise _outage(exc) from exc


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content).strip()


def _outage(exc: BaseException) -> AppError:
    """The todos service failed us: 504 when it was too slow, else 503."""
    causes = [exc, *getattr(exc, "exceptions", ()), exc.__cause__]
    if any(isinstance(cause, httpx2.TimeoutException | TimeoutError) for cause in causes):
        logger.warning("todos MCP endpoint timed out")
        return UpstreamTimeout("The todos service did not answer in time")
    logger.warning("todos MCP endpoint failed: %r", exc)
    return ServiceUnavailable("The todos service is unavailable")
