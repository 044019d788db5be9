"""The one consumer runtime: every queue of the product is consumed by a :class:`Consumer`.

What it does with a :class:`~shared.consumer.subscription.Subscription` (docs/design.md §4):

1. It starts in the background, trying again (doubling, capped) while the broker cannot
   be reached; ``is_consuming`` says when it consumes (readiness). The robust connection
   restores channel and consumer after a reconnect.
2. Deliveries are handed over at once (aiormq cancels its delivery tasks when a channel
   dies), cut into batches (``Policy``) and *read*: one that cannot be read is
   dead-lettered with the reason (``x-death-reason``) and acked, never handled.
3. The handler commits its own work and returns the deliveries it wants to see again,
   each with a delay; the others are acked once it returns. It may refuse the batch
   (:class:`~shared.consumer.delivery.Refused`): dead letters.
4. A handler that raises acks nothing: while the dependency is down the batch is held
   and tried again once it answers, otherwise it goes back to the queue after a delay
   doubling with the deliveries' count (held unacked meanwhile: a crash loses nothing).
5. :meth:`Consumer.stop` cancels the consumer, lets the batches in flight finish within
   the grace period and hands everything else back to the queue at once.

Settling a delivery of a channel that died since is logged and ignored: the broker
redelivers it, and idempotent handlers (``shared.consumer.claimed``) recognise the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

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
    Delivery,
    Refused,
    Retries,
    consuming,
    correlation_id,
    previous_deliveries,
    redelivery_delay,
    settle,
    stop_consuming,
)
from shared.consumer.inbox import Inbox
from shared.consumer.subscription import Subscription
from shared.logging import request_id_var
from shared.messaging import (
    MalformedMessage,
    dead_letter_queue_name,
    declare_exchanges,
)
from shared.metrics import MESSAGES_CONSUMED

logger = logging.getLogger("shared.consumer")

ConnectionSource = Callable[[], Awaitable[AbstractConnection]]
START_RETRY, START_RETRY_MAX = 1.0, 10.0


class Consumer:
    """Runs one subscription on a channel of its own until :meth:`stop`."""

    def __init__(self, connection: ConnectionSource, subscription: Subscription) -> None:
        self.connection = connection
        self.subscription = subscription
        self.queue = subscription.queue
        self.policy = subscription.policy
        self.channel: AbstractChannel | None = None
        self._inbox = Inbox()
        self._held: dict[asyncio.Task[None], AbstractIncomingMessage] = {}
        self._starter: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._consumer_tag: str | None = None
        self._amqp_queue: AbstractQueue | None = None
        self._dead_letters: AbstractExchange | None = None
        self._stopping = False

    @property
    def is_consuming(self) -> bool:
        return consuming(self.channel, self._consumer_tag, self._stopping)

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Start consuming in the background, as soon as the broker answers."""
        self._starter = asyncio.create_task(self._start_when_possible(), name=f"start:{self.queue}")

    async def started(self) -> None:
        """Wait until the consumer consumes (it keeps trying while it cannot; a caller
        that must not wait for ever bounds the wait)."""
        if self._starter is not None:
            await asyncio.shield(self._starter)

    async def _start_when_possible(self) -> None:
        delay = START_RETRY
        while not self._stopping:
            try:
                await self._open()
                return
            except Exception as exc:
                logger.warning(
                    "consumer not started; retrying in %.0fs",
                    delay,
                    extra={"queue": self.queue, "error": repr(exc)},
                )
                await self._close_channel()
            await asyncio.sleep(delay)
            delay = min(delay * 2, START_RETRY_MAX)

    async def _open(self) -> None:
        sub, policy = self.subscription, self.policy
        channel = await (await self.connection()).channel(
            publisher_confirms=True, on_return_raises=True
        )
        self.channel = channel
        await channel.set_qos(prefetch_count=policy.prefetch)
        _, self._dead_letters = await declare_exchanges(channel)
        self._amqp_queue = await sub.declare(channel)
        if sub.dead_letters_of is not None:
            routing_key = dead_letter_queue_name(sub.dead_letters_of)
            await self._amqp_queue.bind(self._dead_letters, routing_key=routing_key)
        self._consumer_tag = await self._amqp_queue.consume(self._on_message)
        # Only once consuming: a failed attempt leaves no loops behind. Deliveries that
        # arrived meanwhile wait in the inbox.
        self._loops = [
            asyncio.create_task(self._run(), name=f"consumer:{self.queue}:{n}")
            for n in range(policy.concurrency)
        ]
        logger.info("consuming", extra={"queue": self.queue, "batch": policy.batch_size})

    async def stop(self) -> None:
        """Stop taking deliveries, finish the batches in flight, return the rest, close.

        Batches still running after the policy's grace period are cancelled (their
        transactions roll back, nothing is acked: the broker redelivers them).
        """
        if self._stopping:
            return
        self._stopping = True
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starter
        if self._amqp_queue is not None and self._consumer_tag is not None:
            await stop_consuming(self._amqp_queue, self._consumer_tag)
        self._inbox.close()
        if self._loops:
            # A loop ends after its batch in flight, or at once when it is collecting.
            _, late = await asyncio.wait(self._loops, timeout=self.policy.stop_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        # Deliveries held for a retry, or received but not started, go back now: another
        # replica can take them without waiting for this channel to close.
        for held in list(self._held):
            held.cancel()
        for message in [*self._held.values(), *self._inbox.drain()]:
            await self._settle(message.nack(requeue=True), "nack")
        self._held.clear()
        await self._close_channel()
        logger.info("consumer stopped", extra={"queue": self.queue})

    async def _close_channel(self) -> None:
        if self.channel is not None and not self.channel.is_closed:
            with contextlib.suppress(*CHANNEL_ERRORS):
                await self.channel.close()

    # -- receiving ------------------------------------------------------------------
    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # aiormq runs this in a task it cancels when the channel dies: only hand over.
        if self._stopping:
            return  # left unacked: back to the queue when the channel closes
        MESSAGES_CONSUMED.labels(self.queue).inc()
        self._inbox.put(message)

    async def _run(self) -> None:
        while not self._stopping:
            messages = await self._inbox.collect(self.policy.batch_size, self.policy.batch_wait)
            if self._stopping:  # collected but not started: back to the queue
                for message in messages:
                    await self._settle(message.nack(requeue=True), "nack")
                return
            request_id_var.set(correlation_id(messages[0]) if messages else "-")
            try:
                await self._process(messages)
            except Exception:  # never let one batch take the consumer down
                logger.exception("unexpected error handling a batch", extra={"queue": self.queue})

    # -- one batch ------------------------------------------------------------------
    async def _process(self, messages: list[AbstractIncomingMessage]) -> None:
        deliveries: list[Delivery] = []
        for message in messages:
            try:
                deliveries.append(await self.subscription.read(message))
            except MalformedMessage as exc:
                await self._dead_letter(message, exc)
        if not deliveries:
            return
        try:
            retries = await self._handle(deliveries)
        except Refused as refused:
            for delivery in deliveries:
                await self._dead_letter(delivery.message, refused)
            return
        except Exception:
            delay = self._failure_delay([delivery.message for delivery in deliveries])
            logger.exception(
                "handler failed; requeued after %.1fs",
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
        dependency_up = self.policy.dependency_up
        while True:
            try:
                return await self.subscription.handler(deliveries) or {}
            except Refused:
                raise
            except Exception:
                if dependency_up is None or await dependency_up():
                    raise
                logger.warning(
                    "dependency down; batch held until it answers",
                    exc_info=True,
                    extra={"queue": self.queue, "size": len(deliveries)},
                )
            if not await self._dependency_back():
                return None

    async def _dependency_back(self) -> bool:
        """Wait (doubling, capped) until the dependency answers; False when stopping."""
        assert self.policy.dependency_up is not None
        delay = self.policy.retry_delay
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._inbox.closed.wait(), timeout=delay)
            if self._stopping:
                return False
            if await self.policy.dependency_up():
                logger.info("dependency answers again", extra={"queue": self.queue})
                return True
            delay = min(delay * 2, self.policy.max_retry_delay)

    def _failure_delay(self, messages: list[AbstractIncomingMessage]) -> float:
        deliveries_before = max(previous_deliveries(message) for message in messages)
        policy = self.policy
        return redelivery_delay(deliveries_before, policy.retry_delay, policy.max_retry_delay)

    def _hold(self, message: AbstractIncomingMessage, delay: float) -> None:
        """Nack ``message`` with requeue after ``delay`` seconds, without blocking batches."""

        async def later() -> None:
            await asyncio.sleep(delay)
            self._held.pop(task, None)
            await self._settle(message.nack(requeue=True), "nack")

        task = asyncio.create_task(later())
        self._held[task] = message

    async def _dead_letter(self, message: AbstractIncomingMessage, exc: MalformedMessage) -> None:
        """Publish a copy with the reason to ``<queue>.dead`` (confirmed), then ack."""
        if not self.policy.dead_letter_unreadable:
            logger.warning(
                "unreadable copy acked", extra={"queue": self.queue, "reason": exc.reason}
            )
            await self._settle(message.ack(), "ack")
            return
        logger.warning("message dead-lettered", extra={"queue": self.queue, "reason": exc.reason})
        assert self._dead_letters is not None and self.channel is not None, "started"
        copy = dead_letter_copy(message, exc.reason)
        redacted = {name.lower() for name in self.policy.redact_headers}
        copy.headers = {k: v for k, v in copy.headers.items() if k.lower() not in redacted}
        if not await publish_dead_letter(self._dead_letters, copy, self.queue):
            self._hold(message, self._failure_delay([message]))
            return  # not confirmed: keep the original, try again later
        if self.subscription.on_refused is not None:
            with contextlib.suppress(Exception):  # an answer to a refusal is a courtesy
                await self.subscription.on_refused(self.channel, message, exc)
        await self._settle(message.ack(), "ack")

    async def _settle(self, outcome: Awaitable[None], what: str) -> None:
        await settle(outcome, what, self.queue)
