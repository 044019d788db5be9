"""Scratch databases for tests: each test module or run gets its own, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateSchema

from shared.migrations import upgrade
from shared.settings import DEV_DATABASE_URL

# The server the test databases are created on (any database on it; its name is ignored).
SERVER_URL = os.environ.get("TEST_DATABASE_SERVER_URL", DEV_DATABASE_URL)


async def admin_execute(sql: str) -> None:
    """Run ``sql`` on the server's `postgres` database (CREATE/DROP DATABASE, terminate)."""
    admin = make_url(SERVER_URL).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_url(name: str) -> str:
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_database(prefix: str, *migrations: Path) -> AsyncIterator[str]:
    """A new database named ``<prefix>_<random>`` with ``migrations`` applied; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await admin_execute(f'CREATE DATABASE "{name}"')
    try:
        for folder in migrations:
            await asyncio.to_thread(upgrade, folder, database_url(name))  # alembic is sync
        yield database_url(name)
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_engine(prefix: str, metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """An engine on a new database holding ``metadata``'s schema and tables."""
    async with scratch_database(prefix) as url:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(CreateSchema(str(metadata.schema)))
                await conn.run_sync(metadata.create_all)
            yield engine
        finally:
            await engine.dispose()
