"""The todo tools as the assistant reaches them: a client of the todos service's MCP server.

The chat service implements no tool: both engines call the tools the todos service serves
at ``/mcp`` (the same server every MCP client uses), with the official SDK's client and the
caller's own token, so the todos service applies its isolation and the token's scopes.

A turn borrows an MCP client session for its calls. Opening one costs far more than a call
(the SDK checks and compiles each tool's output schema once per session), so sessions are
kept open between turns and lent again, each only ever to its own user (the SDK's rule: a
client per principal, whose response cache partition is theirs) and to one turn at a
time; the turn's headers (its token, request id and time zone) are set on each loan. A
session idle for ``IDLE_SECONDS``, older than ``MAX_AGE_SECONDS`` (so a new release's tool
list is seen) or beyond the ``MAX_IDLE`` most recently used is closed; one that failed is
never lent again. The tool list is the same for every caller and the server says so (a
public cache hint): every session reads it from one response cache of the process.

An unreachable todos service is a 503, a slow one a 504: the turn fails with the
dependency's status, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client import CacheConfig, InMemoryResponseCacheStore
from mcp.client.streamable_http import streamable_http_client
from mcp.types import LATEST_PROTOCOL_VERSION, CallToolResult, Tool

from shared.errors import AppError, ServiceUnavailable, UpstreamTimeout
from shared.logging import request_id_var

logger = logging.getLogger("chat.todo_tools")

IDLE_SECONDS = 60.0
MAX_AGE_SECONDS = 300.0  # the server's tool list is cacheable for as long
MAX_IDLE = 64


class _SharedTransport(httpx2.AsyncBaseTransport):
    """The process's connection pool, lent to each session's client (which must not close it)."""

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
        self.listings = InMemoryResponseCacheStore()  # the tool list, shared by every session
        self._idle: list[ToolSession] = []  # least recently given back first

    @asynccontextmanager
    async def lifespan(self, _: Any = None) -> AsyncIterator[None]:
        self._pool = httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=64, keepalive_expiry=15)
        )
        try:
            yield
        finally:
            idle, self._idle = self._idle, []
            await asyncio.gather(*(session.aclose() for session in idle))
            await self._pool.aclose()
            self._pool = None

    @asynccontextmanager
    async def session(
        self, authorization: str, zone: str, user_id: str
    ) -> AsyncIterator[ToolSession]:
        """The tools of one turn, called as the caller (their ``Authorization`` header;
        ``user_id``, verified from it, is whose sessions may be lent)."""
        assert self._pool is not None, "open while the app runs"
        session = self._borrow(user_id)
        session.http.headers.update(
            {
                "Authorization": authorization,
                "X-Request-ID": request_id_var.get(),  # one id through both services' logs
                "X-Timezone": zone,  # a time without offset is the user's wall clock
            }
        )
        try:
            yield session
        finally:
            self._give_back(session)

    def _borrow(self, user_id: str) -> ToolSession:
        self._close_stale(time.monotonic())
        for index in range(len(self._idle) - 1, -1, -1):
            if self._idle[index].user_id == user_id:
                return self._idle.pop(index)
        assert self._pool is not None
        http = httpx2.AsyncClient(transport=_SharedTransport(self._pool), timeout=self.timeout)
        cache = CacheConfig(
            store=self.listings, partition=user_id, share_public=True, target_id=self.url
        )
        return ToolSession(self.url, http, cache, user_id)

    def _give_back(self, session: ToolSession) -> None:
        # Not after shutdown, a failure, or a cancelled turn's call still in flight.
        if self._pool is None or not session.reusable:
            _close_soon(session)
            return
        session.given_back = time.monotonic()
        self._idle.append(session)
        self._close_stale(session.given_back)

    def _close_stale(self, now: float) -> None:
        keep = [
            session
            for session in self._idle[-MAX_IDLE:]
            if now - session.given_back < IDLE_SECONDS and now - session.opened < MAX_AGE_SECONDS
        ]
        if len(keep) < len(self._idle):
            for session in self._idle:
                if session not in keep:
                    _close_soon(session)
            self._idle = keep


_closing: set[asyncio.Task[None]] = set()  # closes in progress, kept until they end


def _close_soon(session: ToolSession) -> None:
    task = asyncio.get_running_loop().create_task(session.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


class ToolSession:
    """An MCP client session of one user, opened by its first call; :meth:`aclose` ends it.

    The SDK's client must be closed by the task that opened it (its task group), and a
    session outlives the turn that opened it, so a task of its own holds it open.
    """

    def __init__(
        self, url: str, http: httpx2.AsyncClient, cache: CacheConfig, user_id: str
    ) -> None:
        self.url = url
        self.http = http
        self.cache = cache
        self.user_id = user_id
        self.opened = time.monotonic()
        self.given_back = self.opened
        self._ready: asyncio.Future[Client] | None = None
        self._owner: asyncio.Task[None] | None = None
        self._close = asyncio.Event()
        self._failure: BaseException | None = None
        self._in_flight = 0
        self._closed = False

    @property
    def reusable(self) -> bool:
        ready = self._ready
        return (
            ready is not None
            and ready.done()
            and ready.exception() is None
            and not self._close.is_set()
            and self._in_flight == 0
        )

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
        self._close.set()
        if self._owner is not None:
            await asyncio.wait([self._owner])
        if not self._closed:
            self._closed = True
            await self.http.aclose()

    async def _request(self, request: Any) -> Any:
        try:
            if self._ready is None:
                self._ready = asyncio.get_running_loop().create_future()
                self._owner = asyncio.create_task(self._hold_open(self._ready))
            self._in_flight += 1
            try:
                return await request(await asyncio.shield(self._ready))
            finally:
                self._in_flight -= 1
        except AppError:
            raise
        except Exception as exc:
            # A failed transport closes the session (its pending calls end with "connection
            # closed"): the failure that closed it says whether the todos service was down
            # or slow.
            await self.aclose()
            raise _outage(self._failure or exc) from exc

    async def _hold_open(self, ready: asyncio.Future[Client]) -> None:
        try:
            transport = streamable_http_client(self.url, http_client=self.http)
            async with Client(transport, mode=LATEST_PROTOCOL_VERSION, cache=self.cache) as client:
                # The session knows the tools' output schemas (it checks results against
                # them) once it has the listing: from the cache, without a round trip.
                await client.list_tools()
                ready.set_result(client)
                await self._close.wait()
        except Exception as exc:
            self._failure = exc
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.info("MCP session to the todos service ended: %r", exc)
        finally:
            self._close.set()
            if not ready.done():  # cancelled at shutdown: a waiting call gets an outage
                ready.set_exception(ConnectionError("the MCP session was closed"))


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
