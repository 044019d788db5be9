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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from litestar import Litestar, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from services.gateway.settings import GatewaySettings
from shared.errors import RateLimited, ServiceUnavailable
from shared.messaging import (
    Envelope,
    MalformedMessage,
    close_connection,
    declare_exchanges,
    from_message,
    get_connection,
)
from shared.openapi import event_stream as sse_response
from shared.openapi import raises
from shared.settings import split_list
from shared.tokens import AccessClaims

logger = logging.getLogger("gateway.events")

# Seconds between attempts to reach the broker when it is down at start-up.
RETRY_MIN, RETRY_MAX = 1.0, 30.0
# Milliseconds a browser's EventSource waits before reconnecting.
CLIENT_RETRY_MS = 3000

_encoder = msgspec.json.Encoder()


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
    payload = _encoder.encode(
        {
            "id": envelope.id,
            "type": envelope.type,
            "occurred_at": envelope.occurred_at,
            "correlation_id": envelope.correlation_id,
            "data": envelope.data,
        }
    )
    # msgspec JSON never contains a raw newline, so one `data:` line is enough.
    return b"event: %s\nid: %s\ndata: %s\n\n" % (
        envelope.type.encode(),
        str(envelope.id).encode(),
        payload,
    )


class EventHub:
    """Consumes `events` for this process and fans events out to the users' streams."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.queue_name = f"gateway.events.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                self._end(subscriber)
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await self._channel.close()
        if self._connection is not None:
            await close_connection()

    @property
    def connected(self) -> bool:
        return (
            self._connection is not None
            and self._connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def _connect_forever(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                await self._setup()
                logger.info("event stream consuming queue %s", self.queue_name)
                return  # the robust connection restores channel, queue and consumer itself
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("event stream: broker unavailable (%r), retry in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _setup(self) -> None:
        settings = self.settings
        connection = await get_connection(settings.amqp_url, name=settings.service_name)
        channel = await connection.channel()
        try:
            await channel.set_qos(prefetch_count=settings.event_stream_prefetch)
            events, _ = await declare_exchanges(channel)
            queue = await channel.declare_queue(
                self.queue_name, exclusive=True, auto_delete=True, durable=False
            )
            for key in split_list(settings.event_stream_routing_keys):
                await queue.bind(events, routing_key=key)
            await queue.consume(self._on_message)
        except BaseException:
            with contextlib.suppress(Exception):
                await channel.close()
            raise
        self._connection, self._channel = connection, channel

    # --- fan-out ---------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = from_message(message)
        except MalformedMessage as exc:
            logger.warning(
                "event stream: dropped malformed message %s: %s", message.message_id, exc
            )
            await message.ack()
            return
        try:
            if envelope.user_id is not None:
                self.publish(envelope)
        finally:
            await message.ack()

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


async def sse_body(
    hub: EventHub, subscriber: Subscriber, heartbeat: float, expires_at: float
) -> AsyncIterator[bytes]:
    """The response body: a preamble, then events and heartbeats until the stream ends."""
    try:
        yield b"retry: %d\n: connected\n\n" % CLIENT_RETRY_MS
        while True:
            remaining = expires_at - time.time()
            if remaining <= 0:
                return  # token expired: the client reconnects with a fresh one
            try:
                frame = await asyncio.wait_for(
                    subscriber.queue.get(), timeout=min(heartbeat, remaining)
                )
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if frame is None:
                return
            yield frame
    finally:
        hub.unsubscribe(subscriber)


@asynccontextmanager
async def event_hub(app: Litestar) -> AsyncIterator[None]:
    """Lifespan hook: start the hub without waiting for the broker; stop it at shutdown."""
    hub = EventHub(app.state.settings)
    app.state.event_hub = hub
    hub.start()
    try:
        yield
    finally:
        await hub.stop()


@get(
    "/api/v1/events",
    name="event-stream",
    include_in_schema=True,
    summary="My domain events, live (Server-Sent Events)",
    # 503: the broker is unreachable; 429: too many streams of this user.
    raises=raises(ServiceUnavailable, RateLimited),
    responses={200: sse_response("Events until the access token expires, heartbeats in between")},
)
async def event_stream(request: Request[str, AccessClaims, Any]) -> Stream:
    """Server-Sent Events: the caller's own domain events (`todos.todo.*`, ...), live."""
    hub: EventHub = request.app.state.event_hub
    settings: GatewaySettings = request.app.state.settings
    subscriber = hub.subscribe(request.user)
    return Stream(
        sse_body(hub, subscriber, settings.event_stream_heartbeat, request.auth.expires_at),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(hub.release, subscriber),
    )
