"""The broker plugin: the process's one AMQP connection, opened once, closed once.

AMQP connections are expensive, channels cheap: a process opens one robust connection
(see :mod:`shared.messaging.connection`) and a channel per publisher or consumer on it.
It is opened on first use, not at start-up, so a service comes up while the broker is
down (relays and consumers retry in the background); it is closed at the end of the
app's lifespan, after the hooks that use it have stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractRobustConnection
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from shared.messaging import connect
from shared.settings import CommonSettings


class Broker:
    """The owner of one robust connection to ``url``."""

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self.name = name  # shown in the broker's connection list, with the pid
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    async def connection(self) -> AbstractRobustConnection:
        """The connection, opened on first use (raises while the broker cannot be reached)."""
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await connect(self.url, name=self.name)
            return self._connection

    @property
    def connected(self) -> bool:
        """Whether the connection is open and up right now (not reconnecting)."""
        connection = self._connection
        return connection is not None and connection.connected.is_set()

    async def close(self) -> None:
        async with self._lock:  # not while a first use is still connecting
            connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            await connection.close()


class BrokerPlugin(InitPluginProtocol):
    """Provides the :class:`Broker` as ``broker``; closes its connection at shutdown."""

    def __init__(self, settings: CommonSettings) -> None:
        self.broker = Broker(settings.amqp_url, name=settings.service_name)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # First in the lifespan list, so it is closed after every other hook that uses the
        # connection stopped (the app's own, the outbox's relays, the consumers).
        app_config.lifespan.insert(0, self._lifespan)
        app_config.dependencies["broker"] = Provide(lambda: self.broker, sync_to_thread=False)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.broker.close()
