"""Exactly-once effect for consumers of events: a claim in the handler's transaction.

:func:`claimed` makes the handler of a :class:`~shared.consumer.Subscription` that, for
each delivery, opens a transaction, claims ``(consumer, message id)`` in the service's
processed-messages table (a copy already handled commits nothing else), runs ``handle``
and commits; the runtime acks after that. A failure rolls back and the runtime's retry
policy applies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer.delivery import BatchHandler, Delivery, Retries
from shared.consumer.processed import claim
from shared.logging import request_id_var
from shared.messaging import Envelope

logger = logging.getLogger("shared.consumer")

EventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def claimed(
    sessionmaker: async_sessionmaker[AsyncSession],
    processed_table: Table,
    consumer: str,
    handle: EventHandler,
) -> BatchHandler:
    async def handler(deliveries: list[Delivery]) -> Retries | None:
        for delivery in deliveries:
            envelope = delivery.envelope
            assert envelope is not None, "read with shared.consumer.envelopes"
            request_id_var.set(envelope.correlation_id)
            async with sessionmaker() as session, session.begin():
                fresh = await claim(session, processed_table, consumer, envelope.id)
                if fresh:
                    await handle(session, envelope)
            if not fresh:
                logger.info(
                    "duplicate message skipped",
                    extra={"consumer": consumer, "message_id": str(envelope.id)},
                )
        return None

    return handler
