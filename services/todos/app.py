"""Wires the todos service: ``granian --interface asgi --factory services.todos.app:create_app``."""

from __future__ import annotations

from litestar import Litestar
from litestar.types import ASGIApp

from services.todos.controllers import TodoController
from services.todos.models import OUTBOX
from services.todos.settings import TodosSettings
from shared.platform import BrokerPlugin, DatabasePlugin, OutboxPlugin, Relay, ServicePlugin, serve
from shared.settings import load_settings


def create_app() -> ASGIApp:
    settings = load_settings(TodosSettings)
    database, broker = DatabasePlugin(settings), BrokerPlugin(settings)
    app = Litestar(
        route_handlers=[TodoController],
        plugins=[
            ServicePlugin(settings, title="Todos service"),
            database,
            broker,
            # Todo events committed to the outbox; a broker outage only delays them.
            OutboxPlugin(database, broker, [Relay(OUTBOX)]),
        ],
    )
    return serve(app)
