"""The consumer plugin: the service's consumers run under the app's lifespan.

The subscriptions are made when the app starts (their handlers may need the database
plugin's sessionmaker), each runs on a :class:`~shared.consumer.Consumer` on the broker
plugin's connection, and all stop together at shutdown (the grace period bounds the
whole stop, not each consumer's). The broker is part of readiness: the service is ready
only while every consumer consumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from shared.consumer import Consumer, Subscription
from shared.health import Dependency
from shared.platform.broker import BrokerPlugin


class ConsumerPlugin(InitPluginProtocol):
    def __init__(
        self, broker: BrokerPlugin, subscriptions: Callable[[], Sequence[Subscription]]
    ) -> None:
        self.broker = broker
        self.subscriptions = subscriptions
        self.consumers: list[Consumer] = []

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        return app_config

    def readiness(self) -> list[Dependency]:
        return [Dependency("broker", self._consuming)]

    async def _consuming(self) -> bool:
        return bool(self.consumers) and all(c.is_consuming for c in self.consumers)

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        self.consumers = [
            Consumer(self.broker.broker.connection, subscription)
            for subscription in self.subscriptions()
        ]
        for consumer in self.consumers:  # in the order given (dead letters first)
            consumer.start()
        try:
            yield
        finally:
            await asyncio.gather(*(consumer.stop() for consumer in self.consumers))
            self.consumers = []
