"""Writing events to the outbox inside the caller's transaction."""

from __future__ import annotations

import msgspec
from sqlalchemy import Table, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.messaging import Envelope
from shared.outbox.table import notify_channel


async def add_event(
    session: AsyncSession | AsyncConnection, table: Table, envelope: Envelope
) -> None:
    """Insert ``envelope`` into the outbox ``table`` in the caller's transaction.

    Nothing is committed here: the event becomes visible (and is published) only if the
    caller's transaction commits, and disappears with it on rollback. The same statement
    calls ``pg_notify`` on the table's channel; Postgres delivers notifications only at
    commit (and folds identical ones of a transaction into one), so the relay wakes once
    per committed transaction. The routing key is the envelope type (DESIGN §5).
    """
    inserted = (
        insert(table)
        .values(
            event_id=envelope.id,
            type=envelope.type,
            routing_key=envelope.type,
            payload=msgspec.to_builtins(envelope),
        )
        .returning(table.c.id)
        .cte("outbox_insert")
    )
    notify = select(func.pg_notify(literal(notify_channel(table)), literal(""))).select_from(
        inserted
    )
    await session.execute(notify)
