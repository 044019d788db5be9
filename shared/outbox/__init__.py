"""Transactional outbox (DESIGN §5): events written with the change, published by a relay.

A service declares the table in its own schema (:func:`outbox_table`), creates it in a
migration (:func:`create_outbox`), writes events in its transactions (:func:`add_event`)
and runs one :class:`OutboxRelay` per process, started and stopped by its lifespan.
"""

from shared.outbox.relay import OutboxRelay, PublisherFactory, amqp_publisher_factory
from shared.outbox.table import (
    create_outbox,
    drop_outbox,
    notify_channel,
    outbox_columns,
    outbox_table,
)
from shared.outbox.writer import add_event

__all__ = [
    "OutboxRelay",
    "PublisherFactory",
    "add_event",
    "amqp_publisher_factory",
    "create_outbox",
    "drop_outbox",
    "notify_channel",
    "outbox_columns",
    "outbox_table",
]
