"""The platform plugins' lifespans, in a real app against the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.platform import BrokerPlugin, DatabasePlugin, ServicePlugin
from shared.settings import CommonSettings
from tests.support.rabbit import Vhost
from tests.support.stack import JwtKeys


async def test_the_broker_connection_outlives_every_hook_that_uses_it(
    vhost: Vhost, database_url: str, jwt_keys: JwtKeys
) -> None:
    """An app's own lifespan hook (the gateway's event hub) still has an open connection
    when it stops: the broker plugin closes it last, whatever the order of the lists."""
    settings = CommonSettings(
        amqp_url=vhost.url,
        database_url=database_url,
        jwt_public_key_file=str(jwt_keys.public_path),
    )
    broker = BrokerPlugin(settings)
    seen: list[bool] = []

    @asynccontextmanager
    async def hub(_: Litestar) -> AsyncIterator[None]:
        connection = await broker.broker.connection()
        yield
        seen.append(not connection.is_closed)  # what the hook finds at its stop

    app = Litestar(
        route_handlers=[],
        lifespan=[hub],
        plugins=[ServicePlugin(settings, title="t"), DatabasePlugin(settings), broker],
    )
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health/live")).status_code == 200
    assert seen == [True]
    assert not broker.broker.connected  # and closed afterwards
