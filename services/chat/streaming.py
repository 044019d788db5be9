"""A chat turn as Server-Sent Events (``Accept: text/event-stream`` on ``POST /api/v1/chat``).

Events, in the order they happen: ``delta`` for each new piece of text the assistant
writes (``{"text": ...}``) and ``tool_call`` for each tool call once it ran (``{name,
arguments, result}``); then ``reply`` with the reply text (``{"response": ...}``) and
``done`` whose data is exactly the JSON answer of a non-streamed turn. A failure after
the stream started is one ``error`` event carrying the usual error envelope (text streamed
before it is no reply: nothing of it is stored). The turn runs in its own task, so a
client that goes away mid-stream does not cut it short: it still finishes and is stored.

The ``delta`` texts are the model's words as they come, including what it says in a
round that ends with tool calls ("Let me check your list."); ``reply`` is the reply as
stored, the text of the model's last round only, which a client shows in place of the
streamed text. An engine that streams nothing (the offline one has no model) still gives
one ``delta``, its whole reply, before ``reply``: every answer has at least one.

Framed by ``shared/sse.py`` with CRLF line ends and a ``Connection: keep-alive`` header,
as this stream has always been sent (it was first framed by Litestar's own SSE response).
No heartbeats and no end time: the end of the turn ends the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec

from services.chat.engine_api import OnDelta
from services.chat.schemas import ChatResponse, ToolCall
from services.chat.toolbox import OnCall
from shared import sse
from shared.errors import describe, error_body

logger = logging.getLogger("chat.stream")
RunTurn = Callable[[OnCall, OnDelta], Awaitable[ChatResponse]]
# Turns whose client left mid-stream, kept referenced until they finish.
_unattended: set[asyncio.Task[ChatResponse]] = set()
_DONE = object()
_CRLF = "\r\n"


class Delta(msgspec.Struct):
    """The data of a ``delta`` event: the new piece of the reply's text."""

    text: str


async def _events(run_turn: RunTurn) -> AsyncIterator[bytes]:
    # Tool calls and text share one queue, so the events keep the order they happened in.
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def on_call(call: ToolCall) -> None:
        queue.put_nowait(call)

    async def on_delta(text: str) -> None:
        queue.put_nowait(Delta(text))

    async def run() -> ChatResponse:
        try:
            return await run_turn(on_call, on_delta)
        finally:
            queue.put_nowait(_DONE)

    task = asyncio.create_task(run())
    streamed = False
    try:
        while (item := await queue.get()) is not _DONE:
            streamed = streamed or isinstance(item, Delta)
            event = "delta" if isinstance(item, Delta) else "tool_call"
            yield sse.json_frame(item, event=event, newline=_CRLF)
        try:
            answer = task.result()
        except Exception as exc:
            status, code, message, details, _ = describe(exc)
            body = error_body(status, code, message, details)
            yield sse.frame(body, event="error", newline=_CRLF)
            return
        if not streamed:
            yield sse.json_frame(Delta(answer.response), event="delta", newline=_CRLF)
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


def stream_turn(run_turn: RunTurn) -> sse.EventStream:
    return sse.EventStream(_events(run_turn), headers={"Connection": "keep-alive"})
