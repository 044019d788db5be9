"""The event envelope (docs/design.md §4) and its mapping to and from AMQP messages.

One message = one envelope, JSON encoded. The envelope id is also the AMQP ``message_id``:
consumers deduplicate on it, and aiormq matches a returned (unroutable) message to its
publish by it. The correlation id (the ``X-Request-ID`` of the request that caused the
event) travels in the body, in the ``correlation_id`` property and in the
``x-correlation-id`` header, so tools that only look at headers (shovels, the management
UI, plain AMQP clients) can follow a request through the system.

The envelope's ``user_id`` is *not* put in the AMQP ``user_id`` property: RabbitMQ checks
that property against the connection's login and refuses anything else.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import aio_pika
import msgspec
from aio_pika.abc import AbstractMessage

from shared.logging import request_id_var
from shared.messaging.errors import MalformedMessage

CONTENT_TYPE = "application/json"
CORRELATION_HEADER = "x-correlation-id"
# <service>.<entity>.<verb>, e.g. todos.todo.created; it is also the routing key.
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2}$"

EventType = Annotated[str, msgspec.Meta(pattern=EVENT_TYPE_PATTERN, max_length=255)]
Version = Annotated[int, msgspec.Meta(ge=1)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


def current_correlation_id() -> str:
    """The current request's id, or a fresh one for events no request caused."""
    request_id = request_id_var.get()
    return request_id if request_id != "-" else uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A domain event as it travels on the broker."""

    type: EventType
    data: dict[str, Any]
    user_id: uuid.UUID | None = None
    version: Version = 1
    id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)
    occurred_at: AwareDatetime = msgspec.field(default_factory=_now)
    correlation_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] = msgspec.field(
        default_factory=current_correlation_id
    )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(body: bytes) -> Envelope:
    """Parse and validate a JSON body; :class:`MalformedMessage` says what is wrong."""
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a subclass: schema errors too
        raise MalformedMessage(f"invalid envelope: {exc}") from exc


def to_message(envelope: Envelope) -> aio_pika.Message:
    """A persistent JSON AMQP message carrying ``envelope``."""
    return aio_pika.Message(
        encode(envelope),
        message_id=str(envelope.id),
        correlation_id=envelope.correlation_id,
        headers={CORRELATION_HEADER: envelope.correlation_id},
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=envelope.occurred_at,
        type=envelope.type,
    )


def from_message(message: AbstractMessage) -> Envelope:
    """The envelope in an incoming message, checked against the message's properties.

    A content type other than JSON (a missing one is taken as JSON), or a ``message_id``
    that is not the envelope id (deduplication would key on the wrong one), makes the
    message malformed.
    """
    content_type = (message.content_type or CONTENT_TYPE).split(";")[0].strip().lower()
    if content_type != CONTENT_TYPE:
        raise MalformedMessage(f"unsupported content type {message.content_type!r}")
    envelope = decode(message.body)
    if message.message_id is not None and _as_uuid(message.message_id) != envelope.id:
        raise MalformedMessage(
            f"message_id {message.message_id!r} differs from envelope id {envelope.id}"
        )
    return envelope


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
