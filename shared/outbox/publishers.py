"""Where an outbox relay gets its publisher: a channel on the process's AMQP connection."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractChannel, AbstractConnection

from shared.messaging import EVENTS_EXCHANGE, Publisher
from shared.outbox.relay import PublisherFactory

# The process's connection, opened on first use (``shared.platform.Broker.connection``).
ConnectionSource = Callable[[], Awaitable[AbstractConnection]]


def amqp_publisher_factory(
    connection: ConnectionSource,
    *,
    exchange: str = EVENTS_EXCHANGE,
    prepare: Callable[[AbstractChannel], Awaitable[object]] | None = None,
) -> PublisherFactory:
    """Publishers on a channel of the process's connection.

    ``exchange`` is where the rows go (``""``: the default exchange, each row's routing
    key naming its queue). ``prepare`` runs on the publisher's channel before its first
    publish, e.g. to declare the job queue the rows are routed to, so none is unroutable.
    """

    async def factory() -> Publisher:
        publisher = await Publisher.open(await connection(), exchange=exchange)
        if prepare is not None:
            try:
                await prepare(publisher.channel)
            except BaseException:
                with contextlib.suppress(Exception):
                    await publisher.close()
                raise
        return publisher

    return factory
