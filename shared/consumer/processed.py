"""The processed-messages table: how a consumer recognises a message it already handled.

Each service that consumes messages adds this table to its own schema (and a migration
creating it). The runner inserts ``(consumer, message_id)`` in the *same* transaction as
the handler's changes, so either both are committed or neither is: a redelivered copy (the
broker redelivers after a crash or a reconnect) finds its row and is skipped.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

TABLE_NAME = "processed_messages"


def processed_messages_table(metadata: MetaData, name: str = TABLE_NAME) -> Table:
    """Declare the processed-messages table on a service's metadata (its own schema)."""
    return Table(
        name,
        metadata,
        Column("consumer", Text, nullable=False),
        Column("message_id", Uuid, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "message_id"),
    )


async def claim(session: AsyncSession, table: Table, consumer: str, message_id: uuid.UUID) -> bool:
    """Record that ``consumer`` handles ``message_id``; False if it already did.

    Runs in the caller's transaction. A concurrent claim of the same message (two replicas
    handling two copies) blocks on the primary key until the first transaction ends, then
    sees the conflict: only one of them does the work.
    """
    statement = (
        insert(table)
        .values(consumer=consumer, message_id=message_id)
        .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
        .returning(table.c.message_id)
    )
    result = await session.execute(statement)
    return result.first() is not None
