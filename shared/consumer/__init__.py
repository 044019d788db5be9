"""Consumers (docs/design.md §4): one runtime, its behaviour chosen by a policy.

A :class:`Subscription` names the queue, how a message is read, the handler and the
:class:`Policy`; a :class:`Consumer` runs it (``shared.platform.ConsumerPlugin`` runs a
service's consumers under its lifespan). Acks follow the handler's commit, copies are
recognised (:func:`claimed`), unreadable messages are dead-lettered with the reason.
"""

from shared.consumer.claimed import EventHandler, claimed
from shared.consumer.dead_letter import REASON_HEADER, dead_letter_copy
from shared.consumer.delivery import (
    Accepts,
    BatchHandler,
    Delivery,
    DependencyCheck,
    Refused,
    Retries,
)
from shared.consumer.processed import claim, processed_messages_table
from shared.consumer.runtime import Consumer
from shared.consumer.subscription import Policy, Subscription, envelopes, work_queue

__all__ = [
    "REASON_HEADER",
    "Accepts",
    "BatchHandler",
    "Consumer",
    "Delivery",
    "DependencyCheck",
    "EventHandler",
    "Policy",
    "Refused",
    "Retries",
    "Subscription",
    "claim",
    "claimed",
    "dead_letter_copy",
    "envelopes",
    "processed_messages_table",
    "work_queue",
]
