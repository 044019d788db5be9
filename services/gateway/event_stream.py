"""Live event stream: `GET /api/v1/events` (Server-Sent Events) fed from the `events` exchange.

One :class:`EventHub` per gateway process consumes, on the process's robust AMQP
connection, its own exclusive auto-delete queue bound to `events`, and fans every event
out to the open streams of the event's user — and only theirs.

Delivery is *at most once per connection*: a message is acked as soon as it has been
handed to the subscribers' queues (or dropped because nobody of that user is connected).
These are notifications for a UI to refresh, not a source of truth: a client that
(re)connects reloads what it shows through the REST API, then applies the stream. Events
published while this gateway is cut off from the broker are lost for its clients (the
exclusive queue dies with the connection; the robust connection declares it again after
reconnecting).

Back-pressure: every stream has a bounded queue. A client that does not read fast enough
fills it; the gateway then ends that stream (and logs it) instead of buffering without
bound; the browser's EventSource reconnects after the `retry:` hint and reloads.

The queue is exclusive and auto-delete with a unique client-chosen name
(``gateway.events.<pid>.<random>``) rather than a server-named one: aio-pika's robust
channel re-declares it by name after a reconnect. Streams per user are limited per
gateway process (``EVENT_STREAM_MAX_PER_USER``), not across replicas.

A stream also ends when the access token it was opened with expires, so a revoked or
expired session does not keep receiving events: the client reconnects with a fresh token.
Opened with a personal access token, it ends with the JWT minted for it (within 5 minutes),
and the reconnection checks the personal token again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractQueue
from litestar import Litestar, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency

from services.gateway.settings import GatewaySettings
from shared import sse
from shared.consumer import Consumer, Delivery, Policy, Retries, Subscription, envelopes
from shared.errors import RateLimited, ServiceUnavailable
from shared.messaging import Envelope, declare_exchanges
from shared.openapi import event_stream as sse_response
from shared.openapi import raises
from shared.platform import Broker
from shared.settings import split_list
from shared.tokens import AccessClaims

logger = logging.getLogger("gateway.events")

# Milliseconds a browser's EventSource waits before reconnecting.
CLIENT_RETRY_MS = 3000


class Subscriber:
    """One open stream: a bounded queue of encoded SSE frames; ``None`` ends the stream."""

    __slots__ = ("overflowed", "queue", "user_id")

    def __init__(self, user_id: str, size: int) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def offer(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and the stream is told to end) if the client lags."""
        if self.overflowed:
            return False
        try:
            self.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()
            return False

    def close(self) -> None:
        """End the stream now: drop what is buffered (the client reloads on reconnect
        anyway) so that the end marker always fits."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


def sse_frame(envelope: Envelope) -> bytes:
    return sse.json_frame(
        {
            "id": envelope.id,
            "type": envelope.type,
            "occurred_at": envelope.occurred_at,
            "correlation_id": envelope.correlation_id,
            "data": envelope.data,
        },
        event=envelope.type,
        id=str(envelope.id),
    )


class EventHub:
    """Consumes `events` for this process and fans events out to the users' streams."""

    def __init__(self, settings: GatewaySettings, broker: Broker) -> None:
        self.settings = settings
        self.broker = broker
        self.queue_name = f"gateway.events.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._consumer: Consumer | None = None

    # --- lifecycle -------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        """Start without waiting for the broker (the consumer runtime keeps trying until it
        answers, and the robust connection restores the queue after a reconnect)."""
        self._consumer = Consumer(self.broker.connection, self.subscription())
        self._consumer.start()
        try:
            yield
        finally:
            await self._consumer.stop()
            for subscribers in list(self._subscribers.values()):
                for subscriber in list(subscribers):
                    self._end(subscriber)

    def subscription(self) -> Subscription:
        """At most once: whatever is there (up to the prefetch) is fanned out and acked."""
        prefetch = self.settings.event_stream_prefetch
        return Subscription(
            self.queue_name,
            self._fan_out,
            envelopes(None),
            self._declare,
            # A message that is not an envelope is logged and acked, never dead-lettered:
            # the events exchange's own consumers keep what they cannot read.
            Policy(batch_size=prefetch, dead_letter_unreadable=False, stop_grace=5.0),
        )

    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        events, _ = await declare_exchanges(channel)
        queue = await channel.declare_queue(
            self.queue_name, exclusive=True, auto_delete=True, durable=False
        )
        for key in split_list(self.settings.event_stream_routing_keys):
            await queue.bind(events, routing_key=key)
        return queue

    @property
    def connected(self) -> bool:
        return self._consumer is not None and self._consumer.is_consuming and self.broker.connected

    # --- fan-out ---------------------------------------------------------------------

    async def _fan_out(self, deliveries: list[Delivery]) -> Retries | None:
        for delivery in deliveries:
            if delivery.envelope is not None and delivery.envelope.user_id is not None:
                self.publish(delivery.envelope)
        return None

    def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to every stream of its user."""
        subscribers = self._subscribers.get(str(envelope.user_id))
        if not subscribers:
            return
        frame = sse_frame(envelope)
        for subscriber in list(subscribers):
            if not subscriber.offer(frame):
                logger.warning(
                    "event stream of user %s too slow (%d events buffered): disconnected",
                    subscriber.user_id,
                    subscriber.queue.maxsize,
                )
                self.unsubscribe(subscriber)

    # --- subscriptions ---------------------------------------------------------------

    def subscribe(self, user_id: str) -> Subscriber:
        if not self.connected:
            raise ServiceUnavailable("The event stream is unavailable, try again shortly")
        if len(self._subscribers.get(user_id, ())) >= self.settings.event_stream_max_per_user:
            raise RateLimited(
                CLIENT_RETRY_MS // 1000,
                f"At most {self.settings.event_stream_max_per_user} event streams per user",
            )
        subscriber = Subscriber(user_id, self.settings.event_stream_buffer)
        self._subscribers[user_id].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        current = self._subscribers.get(subscriber.user_id)
        if current is None:
            return
        current.discard(subscriber)
        if not current:
            del self._subscribers[subscriber.user_id]

    def _end(self, subscriber: Subscriber) -> None:
        self.unsubscribe(subscriber)
        subscriber.close()

    async def release(self, subscriber: Subscriber) -> None:
        """After the response: a safety net should the body never have started."""
        self.unsubscribe(subscriber)


async def _queued_frames(subscriber: Subscriber) -> AsyncIterator[bytes]:
    while (frame := await subscriber.queue.get()) is not None:
        yield frame


async def sse_body(
    hub: EventHub, subscriber: Subscriber, heartbeat: float, expires_at: float
) -> AsyncIterator[bytes]:
    """The response body: a preamble, then events and heartbeats until the stream ends
    (the subscriber is closed, or the token expires: the client reconnects with a fresh one)."""
    try:
        async for chunk in sse.stream_body(
            _queued_frames(subscriber),
            preamble=sse.comment("connected", retry_ms=CLIENT_RETRY_MS),
            heartbeat=heartbeat,
            until=expires_at,
        ):
            yield chunk
    finally:
        hub.unsubscribe(subscriber)


@get(
    "/api/v1/events",
    name="event-stream",
    include_in_schema=True,
    summary="My domain events, live (Server-Sent Events)",
    # 503: the broker is unreachable; 429: too many streams of this user.
    raises=raises(ServiceUnavailable, RateLimited),
    responses={200: sse_response("Events until the access token expires, heartbeats in between")},
)
async def event_stream(
    request: Request[str, AccessClaims, Any],
    event_hub: NamedDependency[EventHub],
    settings: NamedDependency[GatewaySettings],
) -> sse.EventStream:
    """Server-Sent Events: the caller's own domain events (`todos.todo.*`, ...), live."""
    hub = event_hub
    subscriber = hub.subscribe(request.user)
    return sse.EventStream(
        sse_body(hub, subscriber, settings.event_stream_heartbeat, request.auth.expires_at),
        background=BackgroundTask(hub.release, subscriber),
    )
