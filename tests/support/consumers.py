"""Running :class:`shared.consumer.Consumer` in a test, against a real broker.

:func:`running_consumers` starts consumers each on a :class:`~shared.platform.Broker` (a
connection) of its own, waits until they consume, and stops them (then closes their
connections) at the end. :func:`event_subscription` is how a service subscribes a
handler of events: one transaction per delivery, the message claimed in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import (
    Consumer,
    EventHandler,
    Policy,
    Subscription,
    claimed,
    envelopes,
    work_queue,
)
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT
from shared.platform import Broker

START_TIMEOUT = 10.0


class RunningConsumers:
    """The consumers a test started; :meth:`stop_all` stops them and closes their brokers."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._started: list[tuple[Consumer, Broker]] = []

    async def start(self, subscription: Subscription) -> Consumer:
        """Start consuming ``subscription`` on a connection of its own; return once it does."""
        broker = Broker(self.url, name=self.name)
        consumer = Consumer(broker.connection, subscription)
        self._started.append((consumer, broker))
        consumer.start()
        await asyncio.wait_for(consumer.started(), START_TIMEOUT)
        assert consumer.is_consuming
        return consumer

    async def stop_all(self) -> None:
        started, self._started = self._started, []
        for consumer, broker in started:
            try:
                await consumer.stop()  # a no-op for one the test stopped itself
            finally:
                await broker.close()


@asynccontextmanager
async def running_consumers(url: str, name: str = "consumer") -> AsyncIterator[RunningConsumers]:
    running = RunningConsumers(url, name)
    try:
        yield running
    finally:
        await running.stop_all()


def event_subscription(
    queue: str,
    handle: EventHandler,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    processed_table: Table,
    consumer: str,
    accepts: Iterable[tuple[str, int]],
    routing_keys: Iterable[str] = (),
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
    policy: Policy | None = None,
) -> Subscription:
    """``handle(session, envelope)`` for each accepted envelope of ``queue``, exactly once
    in effect: claimed as ``consumer`` in ``processed_table``, in the handler's transaction.
    """
    return Subscription(
        queue,
        claimed(sessionmaker, processed_table, consumer, handle),
        envelopes(dict.fromkeys(accepts)),
        work_queue(queue, routing_keys=routing_keys, delivery_limit=delivery_limit),
        policy or Policy(),
    )
