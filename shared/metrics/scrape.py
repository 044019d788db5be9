"""What runs when Prometheus scrapes: async readers refresh gauges, then the text is made.

Gauges that need a query (outbox backlog, job counts) or a look at a pool are refreshed
by *scrape hooks* registered by the component that owns the resource, for as long as it
runs. Hooks run concurrently with a time limit: a scrape while the database is down
answers promptly with the last values rather than hanging.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.metrics.definitions import DB_POOL, DB_POOL_SIZE, DB_READER_POOL

logger = logging.getLogger("shared.metrics")

ScrapeHook = Callable[[], Awaitable[None]]
HOOK_TIMEOUT = 2.0
_hooks: list[ScrapeHook] = []


def register_scrape_hook(hook: ScrapeHook) -> Callable[[], None]:
    """Run ``hook`` at every scrape until the returned function is called."""
    _hooks.append(hook)

    def unregister() -> None:
        if hook in _hooks:
            _hooks.remove(hook)

    return unregister


async def render() -> bytes:
    """The Prometheus text exposition, after every hook had its chance."""
    hooks = list(_hooks)
    if hooks:
        results = await asyncio.gather(
            *(asyncio.wait_for(hook(), HOOK_TIMEOUT) for hook in hooks), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                logger.warning("metrics hook failed", extra={"error": repr(result)})
    return generate_latest(REGISTRY)


def pool_hook(engine: AsyncEngine, readers: asyncpg.Pool) -> ScrapeHook:
    """Reads the engine's pool and the readers' pool: connections lent out, connections
    idle in the pool."""

    async def read_pool() -> None:
        DB_READER_POOL.labels("in_use").set(readers.get_size() - readers.get_idle_size())
        DB_READER_POOL.labels("idle").set(readers.get_idle_size())
        pool = engine.sync_engine.pool
        # QueuePool has these; other pool classes (NullPool in tools) report nothing.
        checked_out = getattr(pool, "checkedout", None)
        checked_in = getattr(pool, "checkedin", None)
        size = getattr(pool, "size", None)
        if checked_out is None or checked_in is None or size is None:
            return
        DB_POOL.labels("in_use").set(checked_out())
        DB_POOL.labels("idle").set(checked_in())
        DB_POOL_SIZE.set(size())

    return read_pool
