"""The copy of a malformed message that a consumer publishes to its dead-letter queue.

The broker dead-letters on its own only what a consumer rejects or what exceeds the delivery
limit, and records no reason a human could act on. For a message that cannot be decoded
the consumer publishes a copy itself to ``dead-letters`` (routing key ``<queue>.dead``),
with why in ``x-death-reason`` and where it came from in ``x-original-*``.
"""

from __future__ import annotations

import logging

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from shared.messaging import dead_letter_queue_name
from shared.metrics import MESSAGES_DEAD_LETTERED

logger = logging.getLogger("shared.consumer")

REASON_HEADER = "x-death-reason"
CONFIRM_TIMEOUT = 10.0
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


async def publish_dead_letter(
    dead_letters: AbstractExchange, copy: aio_pika.Message, queue: str
) -> bool:
    """Publish ``copy`` to ``<queue>.dead`` and wait for the broker's confirm.

    True once confirmed (counted in ``messages_dead_lettered_total``): the original may be
    acked. False when not confirmed: keep the original, so nothing is lost.
    """
    try:
        await dead_letters.publish(
            copy, dead_letter_queue_name(queue), mandatory=True, timeout=CONFIRM_TIMEOUT
        )
    except Exception as exc:
        logger.error("dead-lettering failed", extra={"queue": queue, "error": repr(exc)})
        return False
    MESSAGES_DEAD_LETTERED.labels(queue).inc()
    return True
