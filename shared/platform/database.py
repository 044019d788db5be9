"""The database plugin: one pooled engine per process and the request's unit of work.

A handler (or the service functions it calls) never commits: the ``session`` dependency
commits when the handler returns and rolls back when it raises. Litestar runs that
clean-up after the response is built and before it is sent, so a failed commit still
answers with its error, never with a success the database did not keep. One error may
keep its changes: an :class:`~shared.errors.AppError` with ``keeps_changes`` (a reused
refresh token's family stays revoked while the request is refused).

Handlers that must commit before they answer (a chat turn stores the user's message
before the model runs, then streams) take the ``sessionmaker`` and manage their own
transactions: that is the one stated exception. ``reader`` is a bare asyncpg connection
for hot single-statement reads (see :func:`shared.db.reader_connection`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import NamedDependency, Provide
from litestar.plugins import InitPluginProtocol
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_engine, database_reachable, make_sessionmaker, reader_connection
from shared.health import Dependency
from shared.metrics import pool_hook, register_scrape_hook
from shared.settings import CommonSettings


class DatabasePlugin(InitPluginProtocol):
    """Owns the engine for the app's lifespan; provides ``session``, ``reader`` and
    ``sessionmaker``; the database is part of the service's readiness."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        # Readers queue here, first come first served, before they reach the pool: the
        # pool's own queue lets a newcomer take a connection a waiter was woken for, and
        # under load that starved some requests for seconds (p99 ~40x p50).
        self._reader_turns = asyncio.Semaphore(settings.db_pool_size)  # renewed per lifespan

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database plugin's engine exists while the app runs")
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        if self._sessionmaker is None:
            raise RuntimeError("the database plugin's sessions exist while the app runs")
        return self._sessionmaker

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # At the front of the lifespan list: every later hook (relays, consumers) may use
        # the engine, and it is disposed of after their work is done.
        app_config.lifespan.insert(0, self._lifespan)
        app_config.dependencies.update(
            {
                "session": Provide(self.unit_of_work),
                "reader": Provide(self.reader),
                "sessionmaker": Provide(lambda: self.sessionmaker, sync_to_thread=False),
            }
        )
        return app_config

    def readiness(self) -> list[Dependency]:
        return [Dependency("database", lambda: database_reachable(self.engine))]

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        self._engine = create_engine(self.settings)
        self._sessionmaker = make_sessionmaker(self._engine)
        self._reader_turns = asyncio.Semaphore(self.settings.db_pool_size)
        unregister = register_scrape_hook(pool_hook(self._engine))
        try:
            yield
        finally:
            unregister()
            await self._engine.dispose()

    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """The request's session: committed when the handler succeeds, else rolled back."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except Exception as exc:
                if getattr(exc, "keeps_changes", False) and session.in_transaction():
                    await session.commit()
                raise  # otherwise closing the session rolls back
            if session.in_transaction():
                await session.commit()

    async def reader(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._reader_turns, reader_connection(self.engine) as connection:
            yield connection


# Handler parameter types for the plugin's dependencies (named, so never a query parameter).
Session = NamedDependency[AsyncSession]
Reader = NamedDependency[asyncpg.Connection]
Sessions = NamedDependency[async_sessionmaker[AsyncSession]]
