"""What a batch handler is given: decoded deliveries; and how a delivery is settled.

Split out of :mod:`shared.consumer.batch`, which re-exports the names handlers use.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiormq
import msgspec
from aio_pika.abc import AbstractIncomingMessage

from shared.messaging import Envelope, MalformedMessage, from_message

logger = logging.getLogger("shared.consumer.batch")

# Errors of an ack/nack/publish on a channel or connection that is gone.
CHANNEL_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError, TimeoutError)


@dataclass(eq=False)  # compared and hashed by identity: two copies are two deliveries
class Delivery:
    """One decoded message of a batch."""

    message: AbstractIncomingMessage
    envelope: Envelope
    data: Any  # ``envelope.data`` converted to the body type accepted for its type

    @property
    def previous_deliveries(self) -> int:
        """How often the broker delivered this message before (quorum queues count)."""
        count = (self.message.headers or {}).get("x-delivery-count", 0)
        return count if isinstance(count, int) else 0


# The deliveries to see again, each with the seconds to wait first; the rest are acked.
Retries = Mapping[Delivery, float]
BatchHandler = Callable[[list[Delivery]], Awaitable[Retries | None]]
# (type, version) -> the msgspec type ``data`` must convert to (None: keep the dict).
Accepts = Mapping[tuple[str, int], type[Any] | None]
# Whether the dependency the handler needs (the database) answers right now.
DependencyCheck = Callable[[], Awaitable[bool]]


def decode(message: AbstractIncomingMessage, accepts: Accepts) -> Delivery:
    """The delivery of ``message``; :class:`MalformedMessage` when it is not acceptable."""
    envelope = from_message(message)
    key = (envelope.type, envelope.version)
    if key not in accepts:
        raise MalformedMessage(f"unknown type/version {envelope.type!r} v{envelope.version}")
    body_type = accepts[key]
    if body_type is None:
        return Delivery(message, envelope, envelope.data)
    try:
        data = msgspec.convert(envelope.data, body_type)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"invalid data for {envelope.type}: {exc}") from exc
    return Delivery(message, envelope, data)


async def settle(outcome: Awaitable[None], what: str, queue: str) -> None:
    """Ack or nack, tolerating a channel that died since the delivery (a reconnect)."""
    try:
        await outcome
    except CHANNEL_ERRORS as exc:
        logger.warning(
            "%s of a stale delivery ignored; the broker redelivers it",
            what,
            extra={"queue": queue, "error": repr(exc)},
        )
