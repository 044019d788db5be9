"""Reading the gateway's live event stream `GET /api/v1/events` (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

TIMEOUT = httpx.Timeout(10.0, read=None)  # reads are bounded by SseReader's own timeouts


@dataclass
class SseEvent:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    def json(self) -> dict:
        return json.loads(self.data)


class SseReader:
    """Reads SSE frames from a streaming httpx response, never waiting forever.

    A read that times out leaves the stream usable: the line being waited for is kept for
    the next read (cancelling the response's line iterator would end it), and so is a
    frame read in part.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self._pending: asyncio.Future[str] | None = None
        self._frame = SseEvent()

    async def _line(self, deadline: float) -> str:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._lines))
        done, _ = await asyncio.wait({self._pending}, timeout=max(0, deadline - time.monotonic()))
        if not done:
            raise TimeoutError
        pending, self._pending = self._pending, None
        try:
            return pending.result()
        except StopAsyncIteration:
            raise EOFError("stream ended") from None

    async def next(self, timeout: float = 3.0) -> SseEvent:
        """The next frame (events and comment-only frames alike); TimeoutError if none."""
        deadline = time.monotonic() + timeout
        while True:
            line = await self._line(deadline)
            frame = self._frame
            if line == "":
                self._frame = SseEvent()
                return frame
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "event":
                frame.event = value
            elif name == "id":
                frame.id = value
            elif name == "data":
                frame.data = value if not frame.data else frame.data + "\n" + value
            elif name == "retry":
                frame.retry = int(value)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()

    async def next_event(self, timeout: float = 3.0) -> SseEvent:
        """The next frame that is an event (heartbeats skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.next(max(0.01, deadline - time.monotonic()))
            if frame.event is not None:
                return frame

    async def assert_no_event(self, within: float) -> None:
        try:
            frame = await self.next_event(within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {frame}")


@asynccontextmanager
async def open_stream(base_url: str, headers: dict[str, str]) -> AsyncIterator[SseReader]:
    """A connected stream, past its preamble (so the subscription exists).

    A gateway that has just started may not have reached the broker yet (503): retry briefly.
    """
    deadline = time.monotonic() + 5
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client:
        while True:
            async with client.stream("GET", "/api/v1/events", headers=headers) as response:
                if response.status_code == 503 and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    continue
                assert response.status_code == 200, await response.aread()
                reader = SseReader(response)
                try:
                    preamble = await reader.next()
                    assert preamble.retry is not None and preamble.comments
                    yield reader
                finally:
                    reader.close()
                return
