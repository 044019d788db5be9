"""A chat turn as Server-Sent Events (``Accept: text/event-stream`` on ``POST /api/v1/chat``).

Events, in order: ``tool_call`` for each tool call as it happens (``{name, arguments,
result}``), ``reply`` with the reply text (``{"response": ...}``), then ``done`` whose data
is exactly the JSON answer of a non-streamed turn. A failure after the stream started is
one ``error`` event carrying the usual error envelope. The turn runs in its own task, so a
client that goes away mid-stream does not cut it short: it still finishes and is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.response.base import ASGIResponse

from services.chat.schemas import ChatResponse, ToolCall
from services.chat.toolbox import OnCall
from shared.errors import describe, error_body

logger = logging.getLogger("chat.stream")
# Turns whose client left mid-stream, kept referenced until they finish.
_unattended: set[asyncio.Task[ChatResponse]] = set()
_DONE = object()


def _event(event: str, data: object) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode())


async def _events(
    run_turn: Callable[[OnCall], Awaitable[ChatResponse]],
) -> AsyncIterator[ServerSentEventMessage]:
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def on_call(call: ToolCall) -> None:
        queue.put_nowait(call)

    async def run() -> ChatResponse:
        try:
            return await run_turn(on_call)
        finally:
            queue.put_nowait(_DONE)

    task = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not _DONE:
            yield _event("tool_call", item)
        try:
            answer = task.result()
        except Exception as exc:
            status, code, message, details, _ = describe(exc)
            yield ServerSentEventMessage(
                event="error", data=error_body(status, code, message, details).decode()
            )
            return
        yield _event("reply", {"response": answer.response})
        yield _event("done", answer)
    finally:
        if not task.done():
            logger.info("client left mid-stream; the turn finishes anyway")
            _unattended.add(task)
            task.add_done_callback(_forget)


def _forget(task: asyncio.Task[ChatResponse]) -> None:
    _unattended.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("a turn whose client left failed: %r", error)


class EventStream(ServerSentEvent):
    """An SSE response whose ``text/event-stream`` type survives a JSON route handler.

    Litestar lets the handler's media type (JSON for ``POST /api/v1/chat``) win over the
    response's own, against its docstring; this keeps the response's."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        kwargs["media_type"] = "text/event-stream"
        return super().to_asgi_response(*args, **kwargs)


def stream_turn(run_turn: Callable[[OnCall], Awaitable[ChatResponse]]) -> EventStream:
    return EventStream(_events(run_turn))
