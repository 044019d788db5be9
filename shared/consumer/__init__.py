"""Consumers (docs/design.md §4): ack after commit, deduplicated, malformed ones dead-lettered."""

from shared.consumer.dead_letter import REASON_HEADER, dead_letter_copy
from shared.consumer.processed import claim, processed_messages_table
from shared.consumer.runner import ConsumerRunner, Handler, Subscription

__all__ = [
    "REASON_HEADER",
    "ConsumerRunner",
    "Handler",
    "Subscription",
    "claim",
    "dead_letter_copy",
    "processed_messages_table",
]
