"""Exchanges and queues, declared idempotently by every process at start-up (docs/design.md §4).

Declaring an exchange or queue that already exists with the same arguments is a no-op in
AMQP, so every service declares what it uses and no start-up order between services
matters. Declaring it with *different* arguments fails with PRECONDITION_FAILED (and
closes the channel): queue arguments are part of the contract, changing them means a new
queue name or a migration of the old queue.

Layout:

- ``events``: topic exchange for domain events, routing key ``<service>.<entity>.<verb>``.
- ``dead-letters``: direct exchange; a work queue ``<name>`` dead-letters with routing key
  ``<name>.dead`` into the queue of that name. Being a plain direct exchange, it also lets
  a consumer publish a malformed message there itself, with the reason in its headers.
- work queues: durable quorum queues (replicated, and they count deliveries) with a
  delivery limit, so a message that crashes its consumer every time ends up in
  ``<name>.dead`` instead of being redelivered forever.
"""

from __future__ import annotations

from collections.abc import Iterable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from pamqp.common import FieldTable

EVENTS_EXCHANGE = "events"
DEAD_LETTER_EXCHANGE = "dead-letters"
DEFAULT_DELIVERY_LIMIT = 5


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def work_queue_arguments(queue: str, delivery_limit: int) -> FieldTable:
    """The arguments of a work queue; exposed so tests and docs show the exact contract."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": dead_letter_queue_name(queue),
        # At-least-once dead-lettering: the message leaves the work queue only once the
        # dead-letter queue has confirmed it (the default drops it if that fails). It
        # requires reject-publish overflow, which only matters if a length limit is set.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_exchanges(channel: AbstractChannel) -> tuple[AbstractExchange, AbstractExchange]:
    """Declare ``events`` and ``dead-letters`` (durable); return them in that order."""
    events = await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead_letters = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    return events, dead_letters


async def declare_work_queue(
    channel: AbstractChannel,
    name: str,
    *,
    routing_keys: Iterable[str] = (),
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
) -> AbstractQueue:
    """Declare work queue ``name`` and its dead-letter queue; bind it to ``events``.

    ``routing_keys`` are topic patterns (``todos.todo.*``); with none the queue is fed
    through the default exchange by its name (a job queue such as ``contexts.generate``).
    Declares the exchanges too, so a caller needs nothing else first.
    """
    events, dead_letters = await declare_exchanges(channel)
    dead_name = dead_letter_queue_name(name)
    dead = await channel.declare_queue(
        dead_name, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dead_letters, routing_key=dead_name)
    queue = await channel.declare_queue(
        name, durable=True, arguments=work_queue_arguments(name, delivery_limit)
    )
    for key in routing_keys:
        await queue.bind(events, routing_key=key)
    return queue
