"""The deliveries a consumer has received but not started, and how a batch is cut."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractIncomingMessage


class Inbox:
    """Received deliveries, taken out in batches; :meth:`close` wakes a waiting collect."""

    def __init__(self) -> None:
        self._incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self.closed = asyncio.Event()

    def put(self, message: AbstractIncomingMessage) -> None:
        self._incoming.put_nowait(message)

    def close(self) -> None:
        self.closed.set()

    def drain(self) -> list[AbstractIncomingMessage]:
        """Everything received and not taken yet."""
        left = []
        while not self._incoming.empty():
            left.append(self._incoming.get_nowait())
        return left

    async def collect(self, size: int, wait: float) -> list[AbstractIncomingMessage]:
        """The next batch: wait for a first delivery, then up to ``wait`` s for more."""
        first = await self._next(None)
        if first is None:
            return []
        batch = [first]
        deadline = asyncio.get_running_loop().time() + wait
        while len(batch) < size:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 and self._incoming.empty():
                break
            message = await self._next(max(remaining, 0))
            if message is None:
                break
            batch.append(message)
        return batch

    async def _next(self, wait: float | None) -> AbstractIncomingMessage | None:
        """The next delivery; None after ``wait`` seconds (None: no limit) or when closed."""
        if not self._incoming.empty():
            return self._incoming.get_nowait()
        if wait == 0 or self.closed.is_set():
            return None
        getter = asyncio.ensure_future(self._incoming.get())
        stopper = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({getter, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not getter.done():
                getter.cancel()  # a cancelled get takes nothing off the queue
        return getter.result() if getter.done() and not getter.cancelled() else None
