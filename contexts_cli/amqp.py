"""``contexts generate --via amqp``: submit the job through the broker and wait for the reply.

The message is the same body as ``POST /api/v1/contexts/jobs``, published to exchange
``contexts`` with routing key ``jobs.submit``, the access token in the ``authorization``
header and ``reply_to`` set to RabbitMQ's direct reply-to pseudo queue: the contexts
service answers ``{job_id, total_tasks, sub_batches}`` (or an error) with our
``correlation_id``, and no reply queue has to be declared or cleaned up.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractIncomingMessage

from contexts_cli.gateway_client import CliError

# The platform's published contract for submitting a job over AMQP (docs/messaging.md,
# "Submitting a job over AMQP"); the CLI is a client and imports nothing of the service.
SUBMIT_EXCHANGE = "contexts"
SUBMIT_ROUTING_KEY = "jobs.submit"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


async def submit_over_amqp(
    amqp_url: str, token: str, body: dict[str, Any], *, reply_wait: float = 60.0
) -> dict[str, Any]:
    """Publish the job, return the service's reply; :class:`CliError` on any failure."""
    try:
        connection = await aio_pika.connect(amqp_url, timeout=10)
    except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
        raise CliError(f"cannot connect to the broker at {_safe(amqp_url)}: {exc}") from exc
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        # Direct reply-to: consume the pseudo queue (no ack) before publishing.
        replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        correlation_id = uuid.uuid4().hex
        answer: asyncio.Future[AbstractIncomingMessage] = asyncio.Future()

        async def on_reply(message: AbstractIncomingMessage) -> None:
            if message.correlation_id == correlation_id and not answer.done():
                answer.set_result(message)

        await replies.consume(on_reply, no_ack=True)
        message = aio_pika.Message(
            json.dumps(body).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(uuid.uuid4()),
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_TO,
            headers={"authorization": f"Bearer {token}"},
        )
        try:
            exchange = await channel.get_exchange(SUBMIT_EXCHANGE, ensure=True)
            await exchange.publish(message, SUBMIT_ROUTING_KEY, mandatory=True, timeout=10)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise CliError(
                f"exchange {SUBMIT_EXCHANGE!r} does not exist on {_safe(amqp_url)}: "
                "is the contexts service running against this broker?"
            ) from exc
        except aiormq.exceptions.PublishError as exc:
            raise CliError(
                f"no queue takes {SUBMIT_ROUTING_KEY!r} on exchange {SUBMIT_EXCHANGE!r}: "
                "is the contexts service running?"
            ) from exc
        try:
            reply = await asyncio.wait_for(answer, reply_wait)
        except TimeoutError as exc:
            raise CliError(f"no answer from the contexts service within {reply_wait:.0f}s") from exc
    return _read_reply(reply)


def _read_reply(reply: AbstractIncomingMessage) -> dict[str, Any]:
    try:
        body = json.loads(reply.body)
    except ValueError as exc:
        raise CliError("the contexts service answered something that is not JSON") from exc
    if not isinstance(body, dict):
        raise CliError("the contexts service answered something unexpected")
    error = body.get("error")
    if isinstance(error, dict):
        raise CliError(f"job refused: {error.get('message', error)}")
    if "job_id" not in body:
        raise CliError(f"the contexts service answered without a job id: {body}")
    return body


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + '@' if at else ''}{host}"
