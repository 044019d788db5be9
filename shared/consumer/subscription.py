"""What a consumer is: the queue it reads, how it reads a message, and its policy.

A :class:`Subscription` is given to :class:`shared.consumer.Consumer`, which runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from shared.consumer.delivery import Accepts, BatchHandler, Delivery, DependencyCheck, decode
from shared.messaging import MalformedMessage, declare_work_queue
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT

# Reads one message; raises MalformedMessage (or Refused) with the reason it cannot be used.
Reader = Callable[[AbstractIncomingMessage], Awaitable[Delivery]]
# Declares the queue on a channel of the consumer's own (and whatever it is bound to).
Declare = Callable[[AbstractChannel], Awaitable[AbstractQueue]]
# After a refused message was dead-lettered: e.g. answer the requester's reply_to.
OnRefused = Callable[[AbstractChannel, AbstractIncomingMessage, MalformedMessage], Awaitable[None]]


def envelopes(accepts: Accepts | None) -> Reader:
    """Read an envelope whose (type, version) is in ``accepts``, its data converted
    (``None``: any envelope, its data as sent)."""

    async def read(message: AbstractIncomingMessage) -> Delivery:
        return decode(message, accepts)

    return read


def work_queue(
    name: str, *, routing_keys: Iterable[str] = (), delivery_limit: int = DEFAULT_DELIVERY_LIMIT
) -> Declare:
    """A durable quorum work queue with its dead-letter queue (``shared.messaging``)."""
    keys = tuple(routing_keys)

    async def declare(channel: AbstractChannel) -> AbstractQueue:
        return await declare_work_queue(
            channel, name, routing_keys=keys, delivery_limit=delivery_limit
        )

    return declare


@dataclass(frozen=True)
class Policy:
    """How deliveries are taken, handled, retried and given up on.

    - ``batch_size`` deliveries at most go to the handler at once (1: one by one), fewer
      once ``batch_wait`` seconds passed since the first; ``concurrency`` batches may be
      in flight at once. The channel's prefetch is ``batch_size * concurrency``.
    - A message that cannot be read is dead-lettered with the reason (``<queue>.dead``)
      and acked, or only logged and acked with ``dead_letter_unreadable`` False (the
      queue receives copies of dead letters that are kept elsewhere). ``redact_headers``
      are left out of a dead letter (a token).
    - A failing handler's batch is held while ``dependency_up`` says its dependency (the
      database) is down and given again once it answers: an outage uses none of the
      queue's delivery limit. Otherwise it goes back to the queue after ``retry_delay``
      seconds, doubling per earlier delivery up to ``max_retry_delay``.
    - At stop, the batches in flight get ``stop_grace`` seconds to finish and be acked.
    """

    batch_size: int = 1
    batch_wait: float = 0.0
    concurrency: int = 1
    retry_delay: float = 1.0
    max_retry_delay: float = 30.0
    dependency_up: DependencyCheck | None = None
    dead_letter_unreadable: bool = True
    redact_headers: tuple[str, ...] = ()
    stop_grace: float = 30.0

    @property
    def prefetch(self) -> int:
        return self.batch_size * self.concurrency


@dataclass(frozen=True)
class Subscription:
    """One queue, its reader, its handler and its policy; ``queue`` names it in logs,
    metrics and dead letters. ``dead_letters_of``: the queue also receives a copy of what
    is dead-lettered from that work queue (a worker learning of work given up on)."""

    queue: str
    handler: BatchHandler
    read: Reader
    declare: Declare
    policy: Policy = field(default_factory=Policy)
    dead_letters_of: str | None = None
    on_refused: OnRefused | None = None
