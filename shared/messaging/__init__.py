"""Messaging on RabbitMQ (docs/design.md §4): connection, topology, envelope, confirmed publisher.

Import from here; the submodules are split by concern, not meant as separate APIs.
"""

from shared.messaging.connection import connect
from shared.messaging.envelope import (
    CONTENT_TYPE,
    CORRELATION_HEADER,
    Envelope,
    decode,
    encode,
    from_message,
    to_message,
)
from shared.messaging.errors import (
    BrokerUnavailable,
    MalformedMessage,
    MessagingError,
    PublishFailed,
    PublishManyFailed,
    PublishNacked,
    PublishTimeout,
    Unroutable,
)
from shared.messaging.publisher import Publisher
from shared.messaging.topology import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    dead_letter_queue_name,
    declare_exchanges,
    declare_work_queue,
    work_queue_arguments,
)

__all__ = [
    "CONTENT_TYPE",
    "CORRELATION_HEADER",
    "DEAD_LETTER_EXCHANGE",
    "EVENTS_EXCHANGE",
    "BrokerUnavailable",
    "Envelope",
    "MalformedMessage",
    "MessagingError",
    "PublishFailed",
    "PublishManyFailed",
    "PublishNacked",
    "PublishTimeout",
    "Publisher",
    "Unroutable",
    "connect",
    "dead_letter_queue_name",
    "declare_exchanges",
    "declare_work_queue",
    "decode",
    "encode",
    "from_message",
    "to_message",
    "work_queue_arguments",
]
