"""The platform layer as Litestar plugins (docs/design.md §1).

A service's ``app.py`` reads: settings, plugins, controllers. :class:`ServicePlugin`
gives every service the same HTTP contract (errors, input checks, health, metrics,
OpenAPI, token verification); :class:`DatabasePlugin` owns the engine and the request's
unit of work; :class:`BrokerPlugin` owns the process's one AMQP connection;
:class:`OutboxPlugin` runs the service's outbox relays, :class:`ConsumerPlugin` its
consumers and :class:`McpPlugin` serves an MCP server. :func:`serve` puts around the app
what must see every request, unknown routes included.
"""

from shared.platform.broker import Broker, BrokerPlugin
from shared.platform.consumers import ConsumerPlugin
from shared.platform.database import (
    DatabasePlugin,
    ReadConnections,
    Readers,
    Session,
    Sessions,
)
from shared.platform.mcp import McpPlugin
from shared.platform.outbox import OutboxPlugin, Relay
from shared.platform.service import ServicePlugin, serve

__all__ = [
    "Broker",
    "BrokerPlugin",
    "ConsumerPlugin",
    "DatabasePlugin",
    "McpPlugin",
    "OutboxPlugin",
    "ReadConnections",
    "Readers",
    "Relay",
    "ServicePlugin",
    "Session",
    "Sessions",
    "serve",
]
