"""A consumer that hands a work queue's deliveries to its handler in batches.

Some work is cheaper per message when done for several at once (one query to load them,
concurrent calls to a slow dependency, one transaction to store the results). This
consumer takes up to ``batch_size`` deliveries (the channel's prefetch is the same
number), or fewer once ``batch_wait`` seconds have passed since the first one arrived, and
hands them to the handler together:

1. each delivery is decoded first: a message that is not a valid envelope, whose
   (type, version) is not accepted, or whose ``data`` does not fit the accepted body is
   published to ``dead-letters`` (routing key ``<queue>.dead``) with the reason in
   ``x-death-reason``, acked, and left out of the batch;
2. the handler runs (it commits its own transaction) and returns the deliveries it wants
   to see again, each with a delay; every other delivery is acked once it returns;
3. a handler that raises acks nothing. While ``dependency_up`` (if given) says the
   database is down, the batch is kept unacked and no other batch starts; once it
   answers, the handler gets the same batch again: an outage of any length uses none of
   the queue's delivery limit. Otherwise the batch is requeued after a delay that
   doubles with the deliveries' count.

A delivery to retry is held, unacked, while its delay runs and is then nacked with
requeue, so a crash during the wait loses nothing. Batches run one at a time.

With ``dead_letters_of`` the queue also receives a copy of everything the broker (or a
consumer) dead-letters from that work queue, whose ``.dead`` queue keeps its own copy;
this is how a worker learns about work that reached the delivery limit.

:meth:`BatchConsumer.stop` cancels the consumer, lets the batch in flight finish (and be
acked), and hands everything else back to the queue at once. After a reconnect, settling
a delivery of the dead channel fails; that is logged and ignored, the broker redelivers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)

from shared.consumer.dead_letter import dead_letter_copy, publish_dead_letter
from shared.consumer.delivery import (
    CHANNEL_ERRORS,
    Accepts,
    BatchHandler,
    Delivery,
    DependencyCheck,
    Retries,
    consuming,
    decode,
    redelivery_delay,
    settle,
    stop_consuming,
)
from shared.consumer.inbox import Inbox
from shared.messaging import (
    MalformedMessage,
    dead_letter_queue_name,
    declare_exchanges,
    declare_work_queue,
)
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT
from shared.metrics import MESSAGES_CONSUMED

__all__ = ["Accepts", "BatchConsumer", "BatchHandler", "Delivery", "DependencyCheck", "Retries"]

logger = logging.getLogger("shared.consumer.batch")


class BatchConsumer:
    """Consumes one work queue in batches until :meth:`stop`."""

    def __init__(
        self,
        connection: AbstractConnection,
        queue: str,
        handler: BatchHandler,
        *,
        accepts: Accepts,
        batch_size: int = 10,
        batch_wait: float = 0.2,
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
        dependency_up: DependencyCheck | None = None,
        dead_letters_of: str | None = None,
        dead_letter_malformed: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.connection = connection
        self.queue = queue
        self.handler = handler
        self.accepts = dict(accepts)
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.delivery_limit = delivery_limit
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.dependency_up = dependency_up
        self.dead_letters_of = dead_letters_of
        # False: a message this queue cannot read is only logged and acked (a copy of a
        # dead letter, already kept in the dead-letter queue it was meant for).
        self.dead_letter_malformed = dead_letter_malformed
        self.channel: AbstractChannel | None = None
        self._inbox = Inbox()
        self._held: dict[asyncio.Task[None], AbstractIncomingMessage] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._consumer_tag: str | None = None
        self._amqp_queue: AbstractQueue | None = None
        self._dead_letters: AbstractExchange | None = None
        self._stopping = False

    @property
    def is_consuming(self) -> bool:
        return consuming(self.channel, self._consumer_tag, self._stopping)

    async def start(self) -> None:
        """Declare the queue (idempotently) and start consuming on a channel of its own."""
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self.batch_size)
        _, self._dead_letters = await declare_exchanges(channel)
        self._amqp_queue = await declare_work_queue(
            channel, self.queue, delivery_limit=self.delivery_limit
        )
        if self.dead_letters_of is not None:
            routing_key = dead_letter_queue_name(self.dead_letters_of)
            await self._amqp_queue.bind(self._dead_letters, routing_key=routing_key)
        self.channel = channel
        self._loop_task = asyncio.create_task(self._run(), name=f"batch-consumer:{self.queue}")
        self._consumer_tag = await self._amqp_queue.consume(self._on_message)
        logger.info("consuming in batches", extra={"queue": self.queue, "size": self.batch_size})

    async def stop(self, grace_period: float = 30.0) -> None:
        """Stop taking deliveries, finish the batch in flight, return the rest, close.

        A batch still running after ``grace_period`` seconds is cancelled (its transaction
        rolls back, nothing is acked: the broker redelivers it).
        """
        if self._stopping:
            return
        self._stopping = True
        if self._amqp_queue is not None and self._consumer_tag is not None:
            await stop_consuming(self._amqp_queue, self._consumer_tag)
        self._inbox.close()
        task, self._loop_task = self._loop_task, None
        if task is not None:
            # The loop ends after the batch in flight, or at once when it is collecting.
            _, late = await asyncio.wait({task}, timeout=grace_period)
            if late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # Deliveries held for a retry, or received but not started, go back now: another
        # replica can take them without waiting for this channel to close.
        for held in list(self._held):
            held.cancel()
        for message in self._held.values():
            await self._settle(message.nack(requeue=True), "nack")
        self._held.clear()
        for message in self._inbox.drain():
            await self._settle(message.nack(requeue=True), "nack")
        if self.channel is not None and not self.channel.is_closed:
            with contextlib.suppress(*CHANNEL_ERRORS):
                await self.channel.close()
        logger.info("batch consumer stopped", extra={"queue": self.queue})

    # -- receiving ------------------------------------------------------------------
    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # aiormq runs this in a task it cancels when the channel dies: only hand over.
        MESSAGES_CONSUMED.labels(self.queue).inc()
        self._inbox.put(message)

    async def _run(self) -> None:
        while not self._stopping:
            messages = await self._inbox.collect(self.batch_size, self.batch_wait)
            if self._stopping:  # collected but not started: back to the queue
                for message in messages:
                    await self._settle(message.nack(requeue=True), "nack")
                return
            try:
                await self._process(messages)
            except Exception:  # never let one batch take the consumer down
                logger.exception("unexpected error handling a batch", extra={"queue": self.queue})

    # -- one batch ------------------------------------------------------------------
    async def _process(self, messages: list[AbstractIncomingMessage]) -> None:
        deliveries: list[Delivery] = []
        for message in messages:
            try:
                deliveries.append(decode(message, self.accepts))
            except MalformedMessage as exc:
                await self._dead_letter(message, exc.reason)
        if not deliveries:
            return
        try:
            retries = await self._handle(deliveries)
        except Exception:
            delay = self._failure_delay(deliveries)
            logger.exception(
                "batch handler failed; requeued after %.1fs",
                delay,
                extra={"queue": self.queue, "size": len(deliveries)},
            )
            for delivery in deliveries:
                self._hold(delivery.message, delay)
            return
        if retries is None:  # stopping while the dependency was down: back to the queue
            for delivery in deliveries:
                await self._settle(delivery.message.nack(requeue=True), "nack")
            return
        for delivery in deliveries:
            if delivery in retries:
                self._hold(delivery.message, retries[delivery])
            else:
                await self._settle(delivery.message.ack(), "ack")

    async def _handle(self, deliveries: list[Delivery]) -> Retries | None:
        """The handler's retries; while the dependency is down, the same batch again once
        it answers (None: stopping meanwhile). Raises what the handler raised otherwise."""
        while True:
            try:
                return await self.handler(deliveries) or {}
            except Exception:
                if self.dependency_up is None or await self.dependency_up():
                    raise
                logger.warning(
                    "dependency down; batch held until it answers",
                    exc_info=True,
                    extra={"queue": self.queue, "size": len(deliveries)},
                )
            if not await self._dependency_back():
                return None

    async def _dependency_back(self) -> bool:
        """Wait (doubling, capped) until ``dependency_up`` answers; False when stopping."""
        assert self.dependency_up is not None
        delay = self.retry_delay
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._inbox.closed.wait(), timeout=delay)
            if self._stopping:
                return False
            if await self.dependency_up():
                logger.info("dependency answers again", extra={"queue": self.queue})
                return True
            delay = min(delay * 2, self.max_retry_delay)

    def _failure_delay(self, deliveries: list[Delivery]) -> float:
        deliveries_before = max(delivery.previous_deliveries for delivery in deliveries)
        return redelivery_delay(deliveries_before, self.retry_delay, self.max_retry_delay)

    def _hold(self, message: AbstractIncomingMessage, delay: float) -> None:
        """Nack ``message`` with requeue after ``delay`` seconds, without blocking batches."""

        async def later() -> None:
            await asyncio.sleep(delay)
            self._held.pop(task, None)
            await self._settle(message.nack(requeue=True), "nack")

        task = asyncio.create_task(later())
        self._held[task] = message

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        """Publish a copy with the reason to ``<queue>.dead`` (confirmed), then ack."""
        if not self.dead_letter_malformed:
            logger.warning("unreadable copy acked", extra={"queue": self.queue, "reason": reason})
            await self._settle(message.ack(), "ack")
            return
        logger.warning(
            "malformed message dead-lettered", extra={"queue": self.queue, "reason": reason}
        )
        assert self._dead_letters is not None, "started"
        copy = dead_letter_copy(message, reason)
        if await publish_dead_letter(self._dead_letters, copy, self.queue):
            await self._settle(message.ack(), "ack")
        else:  # not confirmed: keep the original, try again later
            self._hold(message, self.retry_delay)

    async def _settle(self, outcome: Awaitable[None], what: str) -> None:
        await settle(outcome, what, self.queue)
