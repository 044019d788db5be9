"""Confirmed, mandatory publishing of envelopes.

The publisher owns one channel in confirm mode and publishes with ``mandatory=True``; a
publish returns only once the broker has confirmed the message, i.e. written it to every
queue it was routed to (persistent messages to disk). Everything else raises a
:class:`~shared.messaging.errors.PublishFailed` subclass:

- no queue bound for the routing key -> :class:`Unroutable` (the broker returns the
  message; without ``mandatory`` it would silently drop it, and so would a topic exchange
  nobody has subscribed to yet);
- the broker nacks it (e.g. a full queue with reject-publish) -> :class:`PublishNacked`;
- no confirm within the timeout -> :class:`PublishTimeout`;
- the connection or channel is down -> :class:`BrokerUnavailable`.

Many publishes may be in flight on the channel at once (confirms are asynchronous); one
confirm round trip per message in sequence would cap throughput at a few thousand per
second, so :meth:`Publisher.publish_many` sends a chunk concurrently and waits for all its
confirms. Frames leave in call order, so the broker sees the messages in order.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from itertools import islice

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from shared.messaging.envelope import Envelope, to_message
from shared.messaging.errors import (
    BrokerUnavailable,
    PublishFailed,
    PublishManyFailed,
    PublishNacked,
    PublishTimeout,
    Unroutable,
)
from shared.messaging.topology import EVENTS_EXCHANGE, declare_exchanges

# Seconds to wait for the broker to confirm a publish (queue writes are fsynced).
DEFAULT_CONFIRM_TIMEOUT = 10.0
DEFAULT_CHUNK_SIZE = 100


class Publisher:
    """Publishes envelopes to one exchange on its own confirm channel.

    Create it with :meth:`open`; the routing key of an envelope is its type unless given.
    """

    def __init__(
        self, channel: AbstractChannel, exchange: AbstractExchange, *, confirm_timeout: float
    ) -> None:
        self.channel = channel
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout

    @classmethod
    async def open(
        cls,
        connection: AbstractConnection,
        *,
        exchange: str = EVENTS_EXCHANGE,
        confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
    ) -> Publisher:
        """A publisher on a new channel of ``connection``.

        ``exchange`` is ``events`` (declared here, idempotently), ``""`` for the default
        exchange (routing key = queue name, for job queues), or any other existing one.
        """
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        target: AbstractExchange
        if exchange == EVENTS_EXCHANGE:
            target, _ = await declare_exchanges(channel)
        elif exchange == "":
            target = channel.default_exchange
        else:
            target = await channel.get_exchange(exchange, ensure=True)
        return cls(channel, target, confirm_timeout=confirm_timeout)

    async def close(self) -> None:
        if not self.channel.is_closed:
            await self.channel.close()

    async def publish(self, envelope: Envelope, routing_key: str | None = None) -> None:
        """Publish ``envelope`` and wait for the broker's confirm; raise if there is none."""
        key = envelope.type if routing_key is None else routing_key
        try:
            result = await self.exchange.publish(
                to_message(envelope), key, mandatory=True, timeout=self.confirm_timeout
            )
        except aiormq.exceptions.PublishError as exc:  # before DeliveryError: a subclass
            raise Unroutable(envelope.id, key, "no queue is bound for the routing key") from exc
        except aiormq.exceptions.DeliveryError as exc:
            raise PublishNacked(envelope.id, key, f"broker refused it: {exc.frame}") from exc
        except TimeoutError as exc:
            reason = f"no confirm within {self.confirm_timeout}s"
            raise PublishTimeout(envelope.id, key, reason) from exc
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            # ChannelInvalidStateError (a closed channel) is a RuntimeError.
            raise BrokerUnavailable(envelope.id, key, repr(exc)) from exc
        _check_confirmed(result, envelope.id, key)

    async def publish_many(
        self,
        envelopes: Iterable[Envelope],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        routing_keys: Mapping[uuid.UUID, str] | None = None,
    ) -> None:
        """Publish all ``envelopes``, ``chunk_size`` of them in flight at a time, each with
        its routing key in ``routing_keys`` (by envelope id), else its type.

        Stops after the first chunk in which anything failed and raises
        :class:`PublishManyFailed`, which lists the confirmed ids and the failures.
        """
        keys = routing_keys or {}
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        published: list[uuid.UUID] = []
        iterator = iter(envelopes)
        while chunk := list(islice(iterator, chunk_size)):
            results = await asyncio.gather(
                *(self.publish(envelope, keys.get(envelope.id)) for envelope in chunk),
                return_exceptions=True,
            )
            errors: dict[uuid.UUID, PublishFailed] = {}
            for envelope, result in zip(chunk, results, strict=True):
                if isinstance(result, PublishFailed):
                    errors[envelope.id] = result
                elif isinstance(result, BaseException):
                    raise result
                else:
                    published.append(envelope.id)
            if errors:
                raise PublishManyFailed(published, errors)


def _check_confirmed(result: object, message_id: uuid.UUID, key: str) -> None:
    """Guard against a channel that reports returns/nacks as values instead of raising."""
    if isinstance(result, aiormq.spec.Basic.Ack):
        return
    if isinstance(result, aiormq.abc.DeliveredMessage):
        raise Unroutable(message_id, key, "no queue is bound for the routing key")
    raise PublishNacked(message_id, key, f"unexpected confirmation {result!r}")
