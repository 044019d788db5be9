"""Server-Sent Events: the one way the platform frames, paces and serves an event stream.

Three streams use it: the gateway's live events (``GET /api/v1/events``), a context job's
progress (``GET /api/v1/contexts/jobs/{id}/events``) and a streamed chat turn
(``POST /api/v1/chat`` with ``Accept: text/event-stream``). It has three parts:

- encoders: :func:`frame` (an event: ``event:``, ``id:``, one ``data:`` line per line
  of data, then a blank line), :func:`json_frame` (the same with JSON data) and
  :func:`comment` (comment lines an EventSource ignores, optionally after a ``retry:``
  reconnect hint; :data:`HEARTBEAT` is one);
- :func:`stream_body`: a response body made of an optional preamble and the frames of
  an async iterator, with a heartbeat comment whenever no frame came for ``heartbeat``
  seconds, ending when the frames end or at an end time (``until``);
- :class:`EventStream`: the Litestar response that serves such a body as
  ``text/event-stream`` with ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``.

Why not Litestar's own ``ServerSentEvent`` response: it frames every message itself,
always with CRLF line ends and ``id:`` before ``event:``, while the gateway's and the
progress stream's clients have always received LF and ``event:`` first; it has no
heartbeats or end time; it adds ``Connection: keep-alive``, which only the chat stream
sends; and its media type loses to a JSON handler's (the chat route answers JSON too).
So this is a small :class:`~litestar.response.Stream`-based helper instead, and each
stream keeps the bytes its clients know: the chat stream asks for CRLF line ends and
that extra header, the other two take the defaults.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

import msgspec
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.response import Stream
from litestar.response.base import ASGIResponse

MEDIA_TYPE = "text/event-stream"

# The SSE format ends a line at CRLF, LF or a lone CR: data split on any of them, so
# that no character of the data can end a line early or start a field of its own.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_json = msgspec.json.Encoder()


def _field(value: str) -> bytes:
    # A line break in an event name or id would start another field: dropped.
    return _LINE_BREAK.sub(b"", value.encode())


def frame(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,
    newline: str = "\n",
) -> bytes:
    """One event: ``event:``, ``id:``, a ``data:`` line per line of ``data``, a blank line."""
    end = newline.encode()
    lines: list[bytes] = []
    if event is not None:
        lines.append(b"event: " + _field(event))
    if id is not None:
        lines.append(b"id: " + _field(id))
    raw = data.encode() if isinstance(data, str) else data
    lines.extend(b"data: " + line for line in _LINE_BREAK.split(raw))
    return end.join(lines) + end + end


def json_frame(
    value: Any,
    *,
    event: str | None = None,
    id: str | None = None,
    newline: str = "\n",
) -> bytes:
    """One event whose data is ``value`` as JSON (msgspec's: one line, no raw newline)."""
    return frame(_json.encode(value), event=event, id=id, newline=newline)


def comment(text: str, *, retry_ms: int | None = None, newline: str = "\n") -> bytes:
    """Comment lines, which an EventSource ignores (but which keep proxies from timing an
    idle connection out), after a ``retry:`` hint (milliseconds before a reconnect)."""
    end = newline.encode()
    lines = [] if retry_ms is None else [b"retry: %d" % retry_ms]
    lines.extend(b": " + line for line in _LINE_BREAK.split(text.encode()))
    return end.join(lines) + end + end


HEARTBEAT = comment("heartbeat")


def _retrieve(task: asyncio.Future[Any]) -> None:
    # A frame nobody waits for any more: take its outcome so asyncio does not report it.
    if not task.cancelled():
        task.exception()


async def stream_body(
    frames: AsyncIterable[bytes],
    *,
    preamble: bytes | None = None,
    heartbeat: float | None = None,
    until: float | None = None,
) -> AsyncIterator[bytes]:
    """The body of an event stream: ``preamble``, then each chunk of ``frames`` as it comes.

    ``heartbeat``: seconds without a chunk after which :data:`HEARTBEAT` is sent.
    ``until``: a ``time.time()`` at which the stream ends even if ``frames`` does not (the
    wait that reaches it sends a heartbeat too, as the gateway's stream always has).
    Without either, the chunks pass straight through.
    """
    if preamble is not None:
        yield preamble
    if heartbeat is None and until is None:
        async for chunk in frames:
            yield chunk
        return
    source = aiter(frames)
    # The next chunk is awaited in a task of its own, never cancelled by a heartbeat:
    # cancelling an async generator mid-await would end it.
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            timeout = heartbeat
            if until is not None:
                remaining = until - time.time()
                if remaining <= 0:
                    return
                timeout = remaining if timeout is None else min(timeout, remaining)
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                if heartbeat is not None:
                    yield HEARTBEAT
                continue
            arrived, pending = pending, None
            try:
                chunk = arrived.result()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        # The stream ended (end time, client gone): stop the source where it waits. Not
        # awaited: a disconnect cancels this body again at every await; the source's own
        # clean-up runs in its task all the same.
        if pending is not None:
            pending.cancel()
            pending.add_done_callback(_retrieve)


class EventStream(Stream):
    """A ``text/event-stream`` response with the headers every event stream needs.

    ``Cache-Control: no-cache`` so nothing caches a live stream; ``X-Accel-Buffering:
    no`` so a proxy such as nginx passes every frame on at once rather than buffering.
    """

    def __init__(
        self,
        content: AsyncIterable[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | BackgroundTasks | None = None,
    ) -> None:
        super().__init__(
            content,
            media_type=MEDIA_TYPE,
            # In the order the streams have always sent them.
            headers={"Cache-Control": "no-cache", **(headers or {}), "X-Accel-Buffering": "no"},
            background=background,
        )

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        # Litestar lets a handler's media type (JSON for ``POST /api/v1/chat``, which also
        # answers JSON) win over the response's own, against its docstring: keep ours.
        kwargs["media_type"] = MEDIA_TYPE
        return super().to_asgi_response(*args, **kwargs)
