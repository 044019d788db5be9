"""Errors of the messaging layer: what a caller of ``shared.messaging`` has to handle.

aio-pika and aiormq raise their own exception types (and a returned message is not even an
exception unless the channel asks for it). We translate them at the edge so that callers
(the outbox relay, tests, tools) catch *our* classes and never mistake a message the broker
refused for one it accepted.
"""

from __future__ import annotations

import uuid


class MessagingError(Exception):
    """Base class of every error raised by ``shared.messaging``."""


class PublishFailed(MessagingError):
    """The broker did not confirm that it took responsibility for a message.

    The message may or may not have reached a queue (a lost confirm is indistinguishable
    from a lost message), so the caller must keep it and publish it again later; consumers
    deduplicate on the envelope id.
    """

    def __init__(self, message_id: uuid.UUID, routing_key: str, reason: str) -> None:
        self.message_id = message_id
        self.routing_key = routing_key
        self.reason = reason
        super().__init__(f"publish of {message_id} to {routing_key!r} failed: {reason}")


class Unroutable(PublishFailed):
    """No queue is bound for the routing key; the broker returned the message (mandatory)."""


class PublishNacked(PublishFailed):
    """The broker refused the message (e.g. a full queue with ``reject-publish``)."""


class PublishTimeout(PublishFailed):
    """No confirm arrived in time; the message may still have been delivered."""


class BrokerUnavailable(PublishFailed):
    """The connection or channel was down or lost while publishing."""


class PublishManyFailed(MessagingError):
    """Some messages of a :meth:`Publisher.publish_many` call were not confirmed.

    ``published`` lists the ids the broker did confirm (the caller may mark those sent);
    ``errors`` maps every failed id to its error. Chunks after the failing one were not
    attempted and appear in neither.
    """

    def __init__(self, published: list[uuid.UUID], errors: dict[uuid.UUID, PublishFailed]) -> None:
        self.published = published
        self.errors = errors
        first = next(iter(errors.values()))
        super().__init__(f"{len(errors)} message(s) not published, first: {first}")


class MalformedMessage(MessagingError):
    """An incoming message is not a valid envelope; ``reason`` says why (for its dead letter)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
