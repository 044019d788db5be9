"""The yardstick of ``make bench``: what Litestar and asyncpg alone serve on this machine.

A bare Litestar app (no middleware, no auth, no dependency injection) answering
``GET /items/{id}`` with one prepared point select from a pooled asyncpg connection, the
row as JSON. It runs under granian with the product's server settings, against the
bench's scratch database, so every product figure can be given as a ratio to it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

SELECT = "SELECT id, title, description, priority, created_at FROM bench_items WHERE id = $1"
ITEM_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
_pool: asyncpg.Pool | None = None


@get("/items/{item_id:uuid}")
async def read_item(item_id: uuid.UUID) -> dict[str, Any]:
    assert _pool is not None
    async with _pool.acquire() as connection:
        row = await connection.fetchrow(SELECT, item_id)
    if row is None:
        raise NotFoundException()
    return dict(row)


@get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@asynccontextmanager
async def pool(_: Litestar) -> AsyncIterator[None]:
    global _pool
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    size = int(os.environ.get("DB_POOL_SIZE", "10"))  # the services' default pool
    _pool = await asyncpg.create_pool(url, min_size=size, max_size=size)
    async with _pool.acquire() as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_items (id uuid PRIMARY KEY, title text NOT NULL,"
            " description text, priority text NOT NULL, created_at timestamptz DEFAULT now())"
        )
        await connection.execute(
            "INSERT INTO bench_items (id, title, description, priority)"
            " VALUES ($1, 'benchmark me', NULL, 'medium') ON CONFLICT DO NOTHING",
            ITEM_ID,
        )
    try:
        yield
    finally:
        await _pool.close()


def create_app() -> Litestar:
    return Litestar([read_item, live], lifespan=[pool])
