"""The database plugin: one pooled engine per process and the request's unit of work.

A handler (or the service functions it calls) never commits: the ``session`` dependency
commits when the handler returns and rolls back when it raises. Litestar runs that
clean-up after the response is built and before it is sent, so a failed commit still
answers with its error, never with a success the database did not keep. One error may
keep its changes: an :class:`~shared.errors.AppError` with ``keeps_changes`` (a reused
refresh token's family stays revoked while the request is refused).

Handlers that must commit before they answer (a chat turn stores the user's message
before the model runs, then streams) take the ``sessionmaker`` and manage their own
transactions: that is the one stated exception. ``readers`` lends bare asyncpg
connections for hot single-statement reads (:class:`ReadConnections`); it is a plain
value, not a generator dependency, so a read pays no clean-up machinery.
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
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import create_engine, database_reachable, make_sessionmaker
from shared.health import Dependency
from shared.metrics import pool_hook, register_scrape_hook
from shared.settings import CommonSettings


async def _keep_session(connection: asyncpg.Connection) -> None:
    return None


class ReadConnections:
    """Bare asyncpg connections for hot single-statement reads, from a pool of their own.

    No ORM session, no BEGIN/ROLLBACK and no hop through the engine's pool: a GET by id
    measured ~3x the requests per second of the same query through a session, and its
    own asyncpg pool saves another ~80 us per read over borrowing the engine's
    connections. Readers queue first come first served before the pool: a pool's queue
    lets a newcomer take the connection a waiter was woken for, and under load that
    starved some requests for seconds (p99 ~40x p50). A connection that died with the
    server fails its one request (503, see shared.errors) and is replaced by the pool.
    """

    def __init__(self, settings: CommonSettings) -> None:
        self.turns = asyncio.Semaphore(settings.db_pool_size)
        self.pool = asyncpg.create_pool(
            make_url(settings.database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False),
            min_size=0,  # opened as reads come; idle ones closed after five minutes
            max_size=settings.db_pool_size,
            max_inactive_connection_lifetime=300,
            server_settings={"application_name": settings.service_name},
            # A reader runs one statement and changes no session state (no SET, LISTEN
            # or locks), so the pool's reset round trip on every release is skipped.
            reset=_keep_session,
        )

    def connection(self) -> _Lent:
        """``async with readers.connection() as connection``: one connection, in turn."""
        return _Lent(self)


class _Lent:
    """One reader's turn and connection (a class: cheaper per read than a generator)."""

    __slots__ = ("connection", "readers")

    def __init__(self, readers: ReadConnections) -> None:
        self.readers = readers
        self.connection: asyncpg.pool.PoolConnectionProxy | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        await self.readers.turns.acquire()
        try:
            self.connection = await self.readers.pool.acquire()
        except BaseException:
            self.readers.turns.release()
            raise
        return self.connection

    async def __aexit__(self, *_: object) -> None:
        try:
            await self.readers.pool.release(self.connection)
        finally:
            self.readers.turns.release()


class DatabasePlugin(InitPluginProtocol):
    """Owns the engine for the app's lifespan; provides ``session``, ``readers`` and
    ``sessionmaker``; the database is part of the service's readiness."""

    def __init__(self, settings: CommonSettings, *, custom_plans: bool = False) -> None:
        self.settings = settings
        self.custom_plans = custom_plans  # see shared.db.create_engine
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._readers: ReadConnections | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database plugin's engine exists while the app runs")
        return self._engine

    @property
    def readers(self) -> ReadConnections:
        if self._readers is None:
            raise RuntimeError("the database plugin's readers exist while the app runs")
        return self._readers

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
                "readers": Provide(lambda: self.readers, sync_to_thread=False),
                "sessionmaker": Provide(lambda: self.sessionmaker, sync_to_thread=False),
            }
        )
        return app_config

    def readiness(self) -> list[Dependency]:
        return [Dependency("database", lambda: database_reachable(self.engine))]

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        self._engine = create_engine(self.settings, custom_plans=self.custom_plans)
        self._sessionmaker = make_sessionmaker(self._engine)
        self._readers = ReadConnections(self.settings)
        await self._readers.pool
        unregister = register_scrape_hook(pool_hook(self._engine, self._readers.pool))
        try:
            yield
        finally:
            unregister()
            await self._readers.pool.close()
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


# Handler parameter types for the plugin's dependencies (named, so never a query parameter).
Session = NamedDependency[AsyncSession]
Readers = NamedDependency[ReadConnections]
Sessions = NamedDependency[async_sessionmaker[AsyncSession]]
