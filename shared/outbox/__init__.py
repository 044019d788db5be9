"""Transactional outbox (docs/design.md §4): events written with the change, published by a relay.

A service declares the table in its own schema (:func:`outbox_table`), creates it in a
migration (:func:`create_outbox`), records events in its transactions (:func:`record`;
:func:`add_events` for many envelopes at once) and runs one :class:`OutboxRelay` per process and
table, started and stopped by its lifespan. A row is published to the relay's exchange
with the row's routing key: the event type for ``events``, or a queue name when the
outbox feeds a job queue through the default exchange.
"""

from shared.outbox.publishers import amqp_publisher_factory
from shared.outbox.relay import OutboxRelay, PublisherFactory
from shared.outbox.table import (
    create_outbox,
    drop_outbox,
    notify_channel,
    outbox_columns,
    outbox_table,
)
from shared.outbox.writer import add_event, add_events, event_envelope, record

__all__ = [
    "OutboxRelay",
    "PublisherFactory",
    "add_event",
    "add_events",
    "amqp_publisher_factory",
    "create_outbox",
    "drop_outbox",
    "event_envelope",
    "notify_channel",
    "outbox_columns",
    "outbox_table",
    "record",
]
