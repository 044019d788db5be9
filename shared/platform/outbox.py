"""The outbox plugin: the service's outbox relays run under the app's lifespan.

Each :class:`Relay` names an outbox table and where its rows go; the plugin starts one
:class:`~shared.outbox.OutboxRelay` per table on the database plugin's engine and the
broker plugin's connection, and stops them (publishing what is committed) at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aio_pika.abc import AbstractChannel
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import Table

from shared.messaging import EVENTS_EXCHANGE
from shared.outbox import OutboxRelay, amqp_publisher_factory
from shared.platform.broker import BrokerPlugin
from shared.platform.database import DatabasePlugin


@dataclass(frozen=True)
class Relay:
    """One outbox table and where its rows are published.

    ``exchange`` ``""`` is the default exchange (each row's routing key names its queue);
    ``prepare`` runs on the publisher's channel first, e.g. to declare that queue;
    ``linger``: see :class:`~shared.outbox.OutboxRelay`.
    """

    table: Table
    exchange: str = EVENTS_EXCHANGE
    prepare: Callable[[AbstractChannel], Awaitable[object]] | None = None
    batch_size: int = 100
    linger: float = 0.0


class OutboxPlugin(InitPluginProtocol):
    def __init__(
        self, database: DatabasePlugin, broker: BrokerPlugin, relays: Sequence[Relay]
    ) -> None:
        self.database = database
        self.broker = broker
        self.relays = list(relays)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        running = [
            OutboxRelay(
                self.database.engine,
                relay.table,
                amqp_publisher_factory(
                    self.broker.broker.connection, exchange=relay.exchange, prepare=relay.prepare
                ),
                batch_size=relay.batch_size,
                linger=relay.linger,
            )
            for relay in self.relays
        ]
        for relay in running:
            await relay.start()
        try:
            yield
        finally:
            await asyncio.gather(*(relay.stop() for relay in running))
