"""Runs typed message handlers on work queues with at-least-once, exactly-once-effect delivery.

For each delivery the runner:

1. decodes the envelope; a malformed one (bad JSON, wrong schema, a (type, version) the
   handler does not accept) is published to ``dead-letters`` with routing key
   ``<queue>.dead`` and the reason in header ``x-death-reason``, logged, and acked;
2. opens a transaction, claims ``(consumer, message id)`` in the service's processed-messages
   table (a duplicate commits nothing else), runs the handler, commits;
3. acks only after the commit. A handler error rolls back and nacks with requeue; the
   quorum queue's delivery limit dead-letters a message that always fails.

After a reconnect, an ack for a delivery of the dead channel fails; that is logged and
ignored: the broker redelivers the message and the claim recognises the duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer.dead_letter import dead_letter_copy, publish_dead_letter
from shared.consumer.delivery import (
    previous_deliveries,
    redelivery_delay,
    settle,
    stop_consuming,
)
from shared.consumer.processed import claim
from shared.logging import request_id_var
from shared.messaging import (
    CORRELATION_HEADER,
    Envelope,
    MalformedMessage,
    declare_exchanges,
    declare_work_queue,
    from_message,
)
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT
from shared.metrics import MESSAGES_CONSUMED

logger = logging.getLogger("shared.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
DEFAULT_PREFETCH = 10


@dataclass
class Subscription:
    """One handler on one queue; ``accepts`` lists the (type, version) pairs it handles."""

    consumer: str
    queue: str
    handler: Handler
    accepts: frozenset[tuple[str, int]]
    routing_keys: tuple[str, ...] = ()
    prefetch: int = DEFAULT_PREFETCH
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    channel: AbstractChannel | None = field(default=None, repr=False)
    amqp_queue: AbstractQueue | None = field(default=None, repr=False)
    dead_letters: AbstractExchange | None = field(default=None, repr=False)
    consumer_tag: str | None = None


class ConsumerRunner:
    """Consumes the registered queues on one (robust) connection until :meth:`stop`."""

    def __init__(
        self,
        connection: AbstractConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
        processed_table: Table,
        *,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        self.connection = connection
        # A failed handler waits before its nack (doubling per delivery): a short database
        # outage must not use up the queue's delivery limit and dead-letter good messages.
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.sessionmaker = sessionmaker
        self.processed_table = processed_table
        self.subscriptions: list[Subscription] = []
        self._inflight: set[asyncio.Task[Any]] = set()
        self._started = False
        self._stopping = False

    def add(
        self,
        consumer: str,
        queue: str,
        handler: Handler,
        *,
        accepts: Iterable[tuple[str, int]],
        routing_keys: Iterable[str] = (),
        prefetch: int = DEFAULT_PREFETCH,
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
    ) -> None:
        """Register ``handler`` as ``consumer`` of ``queue`` (declared at :meth:`start`)."""
        if self._started:
            raise RuntimeError("register handlers before start()")
        self.subscriptions.append(
            Subscription(
                consumer, queue, handler, frozenset(accepts), tuple(routing_keys),
                prefetch, delivery_limit,
            )
        )  # fmt: skip

    async def start(self) -> None:
        """Declare the queues (idempotently) and start consuming; one channel per queue."""
        self._started = True
        for sub in self.subscriptions:
            channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            await channel.set_qos(prefetch_count=sub.prefetch)
            _, sub.dead_letters = await declare_exchanges(channel)
            sub.amqp_queue = await declare_work_queue(
                channel, sub.queue, routing_keys=sub.routing_keys, delivery_limit=sub.delivery_limit
            )
            sub.channel = channel

            async def on_message(message: AbstractIncomingMessage, sub: Subscription = sub) -> None:
                await self._on_message(sub, message)

            sub.consumer_tag = await sub.amqp_queue.consume(on_message)
            logger.info("consuming", extra={"consumer": sub.consumer, "queue": sub.queue})

    async def stop(self, grace_period: float = 30.0) -> None:
        """Stop taking messages, let in-flight handlers finish and ack, close the channels.

        Handlers still running after ``grace_period`` seconds are cancelled (rolled back,
        not acked: the broker redelivers them). Deliveries that arrived but had not started are left
        unacked and go back to the queue when the channel closes.
        """
        if self._stopping:
            return
        self._stopping = True
        for sub in self.subscriptions:
            if sub.amqp_queue is not None and sub.consumer_tag is not None:
                await stop_consuming(sub.amqp_queue, sub.consumer_tag)
        await asyncio.sleep(0)  # let deliveries already dispatched see ``_stopping``
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=grace_period)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        for sub in self.subscriptions:
            if sub.channel is not None and not sub.channel.is_closed:
                await sub.channel.close()
        logger.info("consumers stopped")

    async def run_until_signalled(
        self, signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        """Start, run until one of ``signals`` arrives, then :meth:`stop` gracefully."""
        loop = asyncio.get_running_loop()
        received = asyncio.Event()
        installed = list(signals)
        for sig in installed:
            loop.add_signal_handler(sig, received.set)
        try:
            if not self._started:
                await self.start()
            await received.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()

    async def _on_message(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        """Start handling ``message`` in a task of our own and return at once.

        aiormq cancels its delivery tasks when the channel dies; a handler running in one
        would be interrupted mid-transaction. Ours finish, commit, and their ack fails
        harmlessly: the redelivered copy waits on the claim's primary key, then is skipped.
        """
        if self._stopping:
            return  # not started: left unacked, requeued when the channel closes
        MESSAGES_CONSUMED.labels(sub.queue).inc()
        task = asyncio.create_task(self._handle(sub, message))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _handle(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        request_id_var.set(_correlation_id(message))  # the task runs in a copied context
        try:
            await self._process(sub, message)
        except Exception:  # never let a delivery take the consumer down
            logger.exception("unexpected error handling a message", extra={"queue": sub.queue})

    async def _process(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        try:
            envelope = from_message(message)
            if (envelope.type, envelope.version) not in sub.accepts:
                raise MalformedMessage(
                    f"unknown type/version {envelope.type!r} v{envelope.version}"
                )
        except MalformedMessage as exc:
            await self._dead_letter(sub, message, exc.reason)
            return
        request_id_var.set(envelope.correlation_id)
        log_extra = {"consumer": sub.consumer, "message_id": str(envelope.id)}
        try:
            async with self.sessionmaker() as session, session.begin():
                fresh = await claim(session, self.processed_table, sub.consumer, envelope.id)
                if fresh:
                    await sub.handler(session, envelope)
        except Exception:
            delay = self._retry_delay(message)
            logger.exception("handler failed; requeued after %.1fs", delay, extra=log_extra)
            await asyncio.sleep(delay)
            await settle(message.nack(requeue=True), "nack", sub.queue)
            return
        if not fresh:
            logger.info("duplicate message skipped", extra=log_extra)
        await settle(message.ack(), "ack", sub.queue)

    def _retry_delay(self, message: AbstractIncomingMessage) -> float:
        deliveries = previous_deliveries(message)
        return redelivery_delay(deliveries, self.retry_delay, self.max_retry_delay)

    async def _dead_letter(
        self, sub: Subscription, message: AbstractIncomingMessage, reason: str
    ) -> None:
        """Publish a copy with the reason to ``<queue>.dead`` (confirmed), then ack."""
        logger.warning(
            "malformed message dead-lettered",
            extra={"consumer": sub.consumer, "queue": sub.queue, "reason": reason},
        )
        assert sub.dead_letters is not None
        copy = dead_letter_copy(message, reason)
        if await publish_dead_letter(sub.dead_letters, copy, sub.queue):
            await settle(message.ack(), "ack", sub.queue)
        else:  # not confirmed: keep the original, the broker retries it
            await settle(message.nack(requeue=True), "nack", sub.queue)


def _correlation_id(message: AbstractIncomingMessage) -> str:
    header = (message.headers or {}).get(CORRELATION_HEADER)
    return message.correlation_id or (header if isinstance(header, str) else None) or "-"
