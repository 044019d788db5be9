"""Wires the todos service: ``granian --interface asgi --factory services.todos.app:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.types import ASGIApp

from services.todos.controllers import TodoController
from services.todos.mcp_server import create_mcp_server
from services.todos.models import OUTBOX
from services.todos.reminder_scheduler import ReminderPlugin
from services.todos.settings import TodosSettings
from shared.platform import (
    BrokerPlugin,
    DatabasePlugin,
    McpPlugin,
    OutboxPlugin,
    Relay,
    ServicePlugin,
    serve,
)
from shared.settings import load_settings, split_list


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
            # Due reminders fired once across replicas, as events through that outbox.
            ReminderPlugin(database, settings.reminder_poll_seconds),
            # The todo tools for MCP clients (and the assistant), at /mcp.
            McpPlugin(
                create_mcp_server(asynccontextmanager(database.unit_of_work)),
                allowed_hosts=split_list(settings.mcp_allowed_hosts),
                allowed_origins=split_list(settings.mcp_allowed_origins),
            ),
        ],
    )
    return serve(app)
