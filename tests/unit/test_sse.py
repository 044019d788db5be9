"""shared/sse.py: the framing, heartbeats and end of every Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from shared import sse


def test_a_frame_has_event_id_then_one_data_line_per_line() -> None:
    framed = sse.frame("one\ntwo\r\nthree\rfour", event="todos.todo.created", id="7")
    assert framed == (
        b"event: todos.todo.created\nid: 7\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
    )


def test_a_frame_without_event_or_id_is_data_alone() -> None:
    assert sse.frame(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert sse.frame("") == b"data: \n\n"


def test_a_line_break_in_event_or_id_cannot_start_a_field() -> None:
    framed = sse.frame("x", event="job\ndata: forged", id="1\r\nretry: 1")
    assert framed == b"event: jobdata: forged\nid: 1retry: 1\ndata: x\n\n"


def test_json_frames_with_crlf_line_ends() -> None:
    framed = sse.json_frame({"response": "Hi\nthere"}, event="reply", newline="\r\n")
    assert framed == b'event: reply\r\ndata: {"response":"Hi\\nthere"}\r\n\r\n'


def test_comments_and_the_retry_hint() -> None:
    assert sse.comment("connected", retry_ms=3000) == b"retry: 3000\n: connected\n\n"
    assert sse.comment("two\nlines") == b": two\n: lines\n\n"
    assert sse.HEARTBEAT == b": heartbeat\n\n"


async def chunks_of(body: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in body]


async def listed(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def silent(stopped: asyncio.Event) -> AsyncIterator[bytes]:
    """Frames that never come; ``stopped`` is set once the stream has stopped waiting."""
    try:
        await asyncio.Event().wait()
        yield b"never"
    finally:
        stopped.set()


async def test_without_heartbeat_or_end_the_frames_pass_through() -> None:
    body = sse.stream_body(listed(b"a", b"b"), preamble=b"p")
    assert await chunks_of(body) == [b"p", b"a", b"b"]


async def test_an_idle_stream_gets_heartbeats_until_the_next_frame() -> None:
    release = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"first"
        await release.wait()
        yield b"second"

    body = sse.stream_body(frames(), preamble=b"preamble", heartbeat=0.05)
    got = [await anext(body), await anext(body)]
    started = time.monotonic()
    got += [await anext(body), await anext(body)]
    assert time.monotonic() - started >= 0.1  # one heartbeat per 0.05 s of silence
    release.set()
    got += await chunks_of(body)
    assert got == [b"preamble", b"first", sse.HEARTBEAT, sse.HEARTBEAT, b"second"]


async def test_the_stream_ends_at_the_end_time_and_stops_its_frames() -> None:
    stopped = asyncio.Event()
    started = time.monotonic()
    body = sse.stream_body(silent(stopped), heartbeat=10, until=time.time() + 0.1)
    # The wait that reaches the end time sends a heartbeat, as the gateway's always has.
    assert await chunks_of(body) == [sse.HEARTBEAT]
    assert 0.05 <= time.monotonic() - started < 1
    await asyncio.wait_for(stopped.wait(), 1)


async def test_a_stream_past_its_end_time_sends_only_its_preamble() -> None:
    body = sse.stream_body(listed(b"a"), preamble=b"p", heartbeat=10, until=time.time() - 1)
    assert await chunks_of(body) == [b"p"]


async def test_the_stream_ends_with_its_frames() -> None:
    body = sse.stream_body(listed(b"a", b"b"), heartbeat=10, until=time.time() + 60)
    assert await chunks_of(body) == [b"a", b"b"]


async def test_a_client_that_leaves_stops_the_frames_it_waited_for() -> None:
    stopped = asyncio.Event()
    reading = asyncio.ensure_future(chunks_of(sse.stream_body(silent(stopped), heartbeat=10)))
    await asyncio.sleep(0.01)
    reading.cancel()  # what a disconnect does to the response body
    await asyncio.wait_for(stopped.wait(), 1)
    assert reading.cancelled()


async def served(response: sse.EventStream, **kwargs: Any) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body an ASGI server would send for ``response``."""
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        while not sent or sent[-1].get("more_body", True):
            await asyncio.sleep(0.001)
        return {"type": "http.disconnect"}

    asgi = response.to_asgi_response(None, None, **kwargs)
    await asgi({"type": "http", "method": "GET"}, receive, send)  # type: ignore[arg-type]
    headers = [(name.decode(), value.decode()) for name, value in sent[0]["headers"]]
    return headers, b"".join(message.get("body", b"") for message in sent[1:])


async def test_an_event_stream_keeps_its_media_type_and_headers() -> None:
    response = sse.EventStream(listed(b"data: x\n\n"), headers={"Connection": "keep-alive"})
    # A JSON route handler passes its own media type: the stream's wins.
    headers, body = await served(response, media_type="application/json")
    assert headers == [
        ("cache-control", "no-cache"),
        ("connection", "keep-alive"),
        ("x-accel-buffering", "no"),
        ("content-type", "text/event-stream; charset=utf-8"),
    ]
    assert body == b"data: x\n\n"
