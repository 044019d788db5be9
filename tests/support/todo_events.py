"""Observing the todo events the todos service publishes on `events` (through its outbox)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aio_pika.abc import AbstractQueue

from shared.messaging import connect, declare_exchanges, from_message
from tests.support.stack import User


@asynccontextmanager
async def todo_event_queue(amqp_url: str) -> AsyncIterator[AbstractQueue]:
    """A queue of its own receiving every todo event, while the block runs."""
    connection = await connect(amqp_url, name="test-todo-events")
    try:
        channel = await connection.channel()
        events, _ = await declare_exchanges(channel)
        name = f"test-todo-events-{uuid.uuid4().hex[:8]}"
        queue = await channel.declare_queue(name, exclusive=True)
        await queue.bind(events, routing_key="todos.todo.#")
        yield queue
    finally:
        await connection.close()


async def events_of(
    queue: AbstractQueue, user: User, count: int, linger: float = 0.5
) -> list[tuple[Any, Any]]:
    """The next ``count`` (message, envelope) pairs of ``user`` (others' are skipped), then
    make sure no more come."""
    seen = []
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            if len(seen) >= count:
                await asyncio.sleep(linger)
                if await queue.get(no_ack=True, fail=False) is None:
                    break
                continue
            await asyncio.sleep(0.02)
            continue
        envelope = from_message(message)
        if str(envelope.user_id) == user.id:
            seen.append((message, envelope))
    return seen
