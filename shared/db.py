"""Database plumbing: the engine, schema metadata, the checks.

The engine's life and the request's unit of work belong to
:class:`shared.platform.DatabasePlugin`.

Each service declares its models on its own base built with :func:`schema_metadata`, so its
tables live in its own Postgres schema and its Alembic migrations see only them.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import DateTime, MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import CommonSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


TYPE_ANNOTATION_MAP: dict[Any, Any] = {datetime: DateTime(timezone=True)}


def schema_metadata(schema: str) -> MetaData:
    """Metadata for a service's declarative base: every table lives in ``schema``.

    Each service declares its own base (a few lines, so type checkers see a real class)::

        class Base(DeclarativeBase):
            metadata = schema_metadata("todos")
            type_annotation_map = TYPE_ANNOTATION_MAP
    """
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(settings: CommonSettings, *, custom_plans: bool = False) -> AsyncEngine:
    """The service's pooled engine. ``custom_plans``: every statement is planned with its
    own parameters (``plan_cache_mode``), never with a cached generic plan; for processes
    whose tables grow by thousands of rows at once, faster than their statistics follow."""
    server_settings = {"application_name": settings.service_name}
    if custom_plans:
        server_settings["plan_cache_mode"] = "force_custom_plan"
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No pre-ping: it would cost a round trip per checkout. A connection that died with
        # the server fails once (answered 503, see shared.errors) and is then replaced.
        pool_recycle=1800,
        connect_args={"server_settings": server_settings},
    )


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A bare asyncpg connection from ``engine``'s pool, for hot paths that run a few fixed
    statements: no ORM session, no BEGIN/ROLLBACK unless the caller opens a transaction
    (``async with connection.transaction()``). A connection left unusable (lost with the
    server, or asyncpg interrupted mid-statement) is discarded instead of pooled again."""
    async with engine.connect() as connection:
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        try:
            yield driver
        except Exception as exc:
            if driver.is_closed() or not isinstance(exc, asyncpg.PostgresError):
                await connection.invalidate(exc)
            raise


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def database_reachable(engine: AsyncEngine) -> bool:
    """Whether a *new* connection to the engine's database answers (callers bound the wait).

    Readiness asks this rather than borrowing from the pool: a pool busy with requests
    says nothing about the database, and a probe waiting for a free connection would take
    the busiest pods out of the Service just when they are needed.
    """
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(url, server_settings={"application_name": "readiness"})
    except Exception:
        return False
    try:
        await conn.fetchval("SELECT 1")
        return True
    except Exception:
        return False
    finally:
        conn.terminate()


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[bool]]:
    """Whether the database behind ``engine`` answers, for consumers that hold their work
    while it does not (a failure with the database up is the work's own)."""
    return functools.partial(database_answers, engine)


async def database_answers(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
