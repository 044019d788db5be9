"""A chat turn as Server-Sent Events (``Accept: text/event-stream`` on ``POST /api/v1/chat``).

Events, in order: ``tool_call`` for each tool call as it happens (``{name, arguments,
result}``), ``reply`` with the reply text (``{"response": ...}``), then ``done`` whose data
is exactly the JSON answer of a non-streamed turn. A failure after the stream started is
one ``error`` event carrying the usual error envelope. The turn runs in its own task, so a
client that goes away mid-stream does not cut it short: it still finishes and is stored.

Framed by ``shared/sse.py`` with CRLF line ends and a ``Connection: keep-alive`` header,
as this stream has always been sent (it was first framed by Litestar's own SSE response).
No heartbeats and no end time, as before: the end of the turn ends the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from services.chat.schemas import ChatResponse, ToolCall
from services.chat.toolbox import OnCall
from shared import sse
from shared.errors import describe, error_body

logger = logging.getLogger("chat.stream")
# Turns whose client left mid-stream, kept referenced until they finish.
_unattended: set[asyncio.Task[ChatResponse]] = set()
_DONE = object()
_CRLF = "\r\n"


async def _events(
    run_turn: Callable[[OnCall], Awaitable[ChatResponse]],
) -> AsyncIterator[bytes]:
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
            yield sse.json_frame(item, event="tool_call", newline=_CRLF)
        try:
            answer = task.result()
        except Exception as exc:
            status, code, message, details, _ = describe(exc)
            body = error_body(status, code, message, details)
            yield sse.frame(body, event="error", newline=_CRLF)
            return
        yield sse.json_frame({"response": answer.response}, event="reply", newline=_CRLF)
        yield sse.json_frame(answer, event="done", newline=_CRLF)
    finally:
        if not task.done():
            logger.info("client left mid-stream; the turn finishes anyway")
            _unattended.add(task)
            task.add_done_callback(_forget)


def _forget(task: asyncio.Task[ChatResponse]) -> None:
    _unattended.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("a turn whose client left failed: %r", error)


def stream_turn(run_turn: Callable[[OnCall], Awaitable[ChatResponse]]) -> sse.EventStream:
    return sse.EventStream(_events(run_turn), headers={"Connection": "keep-alive"})
