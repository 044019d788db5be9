"""The copy of a malformed message that a consumer publishes to its dead-letter queue.

The broker dead-letters on its own only what a consumer rejects or what exceeds the delivery
limit, and records no reason a human could act on. For a message that cannot be decoded
the consumer publishes a copy itself to ``dead-letters`` (routing key ``<queue>.dead``),
with why in ``x-death-reason`` and where it came from in ``x-original-*``.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

REASON_HEADER = "x-death-reason"
ORIGINAL_ROUTING_KEY_HEADER = "x-original-routing-key"
ORIGINAL_EXCHANGE_HEADER = "x-original-exchange"


def dead_letter_copy(message: AbstractIncomingMessage, reason: str) -> aio_pika.Message:
    """A persistent copy of ``message`` (body and properties) with the reason headers."""
    headers = dict(message.headers or {})
    headers[REASON_HEADER] = reason
    headers[ORIGINAL_ROUTING_KEY_HEADER] = message.routing_key or ""
    headers[ORIGINAL_EXCHANGE_HEADER] = message.exchange or ""
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        type=message.type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
