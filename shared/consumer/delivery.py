"""What a handler is given (read deliveries), what it answers, and how a delivery is settled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiormq
import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from shared.messaging import CORRELATION_HEADER, Envelope, MalformedMessage, from_message
from shared.metrics import MESSAGES_ACKED, MESSAGES_REQUEUED

logger = logging.getLogger("shared.consumer")

# Errors of an ack/nack/publish on a channel or connection that is gone.
CHANNEL_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError, TimeoutError)
CANCEL_TIMEOUT = 5.0


@dataclass(eq=False)  # compared and hashed by identity: two copies are two deliveries
class Delivery:
    """One read message of a batch."""

    message: AbstractIncomingMessage
    data: Any  # what the reader made of it: an envelope's data in its accepted body type
    envelope: Envelope | None = None  # the envelope, for messages that are one

    @property
    def previous_deliveries(self) -> int:
        return previous_deliveries(self.message)


class Refused(MalformedMessage):
    """A message that can never be processed (dead-lettered with ``reason``, then acked);
    ``error`` is the domain error behind it, for an answer to the requester."""

    def __init__(self, reason: str, *, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.error = error


def previous_deliveries(message: AbstractIncomingMessage) -> int:
    """How often the broker delivered this message before (quorum queues count)."""
    count = (message.headers or {}).get("x-delivery-count", 0)
    return count if isinstance(count, int) else 0


def correlation_id(message: AbstractIncomingMessage) -> str:
    """The request id a message carries (its logs are tagged with it), or ``-``."""
    header = (message.headers or {}).get(CORRELATION_HEADER)
    return message.correlation_id or (header if isinstance(header, str) else None) or "-"


def redelivery_delay(deliveries_before: int, first: float, cap: float) -> float:
    """The wait before a failed delivery goes back to the queue: doubling per earlier
    delivery (each counts toward the queue's delivery limit), at most ``cap``."""
    return float(min(first * 2**deliveries_before, cap))


# The deliveries to see again, each with the seconds to wait first; the rest are acked.
Retries = Mapping[Delivery, float]
BatchHandler = Callable[[list[Delivery]], Awaitable[Retries | None]]
# (type, version) -> the msgspec type ``data`` must convert to (None: keep the dict).
Accepts = Mapping[tuple[str, int], type[Any] | None]
# Whether the dependency the handler needs (the database) answers right now.
DependencyCheck = Callable[[], Awaitable[bool]]


def decode(message: AbstractIncomingMessage, accepts: Accepts | None) -> Delivery:
    """The delivery of ``message``; :class:`MalformedMessage` when it is not acceptable
    (``accepts`` None: any envelope, its data as sent)."""
    envelope = from_message(message)
    if accepts is None:
        return Delivery(message, envelope.data, envelope)
    key = (envelope.type, envelope.version)
    if key not in accepts:
        raise MalformedMessage(f"unknown type/version {envelope.type!r} v{envelope.version}")
    body_type = accepts[key]
    if body_type is None:
        return Delivery(message, envelope.data, envelope)
    try:
        data = msgspec.convert(envelope.data, body_type)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"invalid data for {envelope.type}: {exc}") from exc
    return Delivery(message, data, envelope)


async def settle(outcome: Awaitable[None], what: str, queue: str) -> None:
    """Ack or nack (``what``: "ack" or "nack", a requeue), counted in the metrics;
    tolerating a channel that died since the delivery (a reconnect)."""
    try:
        await outcome
    except CHANNEL_ERRORS as exc:
        logger.warning(
            "%s of a stale delivery ignored; the broker redelivers it",
            what,
            extra={"queue": queue, "error": repr(exc)},
        )
        return
    (MESSAGES_ACKED if what == "ack" else MESSAGES_REQUEUED).labels(queue).inc()


def consuming(channel: AbstractChannel | None, consumer_tag: str | None, stopping: bool) -> bool:
    """Readiness of a consumer: started, not stopping, and its channel is open."""
    return (
        consumer_tag is not None and not stopping and channel is not None and not channel.is_closed
    )


async def stop_consuming(queue: AbstractQueue, consumer_tag: str) -> None:
    """Cancel a consumer, within ``CANCEL_TIMEOUT`` however the broker is doing.

    A robust queue's cancel first waits for its connection to come back, for as long as
    that takes: while the broker is unreachable, a stop would hang there (and the process
    would never finish shutting down). With the connection gone there is no consumer left
    to cancel anyway.
    """
    try:
        await asyncio.wait_for(queue.cancel(consumer_tag), CANCEL_TIMEOUT)
    except CHANNEL_ERRORS as exc:
        logger.warning("cancel failed", extra={"queue": queue.name, "error": repr(exc)})
