"""Wires the todos service: ``granian --interface asgi --factory services.todos.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.types import ASGIApp

from services.todos.controllers import TodoController
from services.todos.models import OUTBOX
from services.todos.settings import TodosSettings
from shared.auth_middleware import bearer_auth
from shared.messaging import close_connection
from shared.outbox import OutboxRelay, amqp_publisher_factory
from shared.service_app import build_app
from shared.settings import load_settings


def create_app() -> ASGIApp:
    settings = load_settings(TodosSettings)

    @asynccontextmanager
    async def outbox_relay(app: Litestar) -> AsyncIterator[None]:
        # Publishes todo events committed to the outbox; a broker outage only delays them.
        relay = OutboxRelay(
            app.state.engine,
            OUTBOX,
            amqp_publisher_factory(settings.amqp_url, name=settings.service_name),
        )
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()
            await close_connection()

    return build_app(
        settings,
        title="Todos service",
        route_handlers=[TodoController],
        middleware=[bearer_auth()],
        lifespan=[outbox_relay],
    )
