"""The outbox backlog in the metrics: pending rows and the age of the oldest.

A relay registers this scrape hook while it runs. The partial index on pending rows
keeps the query cheap however many sent rows the retention period keeps.
"""

from __future__ import annotations

from sqlalchemy import Table, extract, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING, ScrapeHook


def backlog_hook(engine: AsyncEngine, table: Table) -> ScrapeHook:
    """Refreshes ``outbox_pending_rows`` and ``outbox_oldest_pending_age_seconds`` for
    ``table``, labelled with its schema-qualified name (e.g. ``todos.outbox``)."""
    query = select(
        func.count(),
        func.coalesce(extract("epoch", func.now() - func.min(table.c.created_at)), 0),
    ).where(table.c.sent_at.is_(None))

    async def read_backlog() -> None:
        async with engine.connect() as conn:
            pending, oldest_age = (await conn.execute(query)).one()
        OUTBOX_PENDING.labels(table.fullname).set(pending)
        OUTBOX_OLDEST_AGE.labels(table.fullname).set(float(oldest_age))

    return read_backlog
