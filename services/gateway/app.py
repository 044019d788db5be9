"""Wires the gateway: auth API and personal tokens, the API guard (token, rate limit, scope),
CORS, the proxy (the services' APIs and the MCP endpoint) and the public API's one OpenAPI
document (``openapi_merge``)."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp

from services.gateway.api_guard import PUBLIC, ApiGuardMiddleware
from services.gateway.auth_controller import AuthController
from services.gateway.client_ip import parse_networks
from services.gateway.cors_refusals import CorsRefusalEnvelope
from services.gateway.event_stream import EventHub, event_stream
from services.gateway.mcp_resource import mcp_resource_metadata
from services.gateway.openapi_merge import (
    OWN_SCHEMA_PATH,
    PublicDocument,
    Upstream,
    schema_router,
)
from services.gateway.personal_token_controller import PersonalTokenController
from services.gateway.personal_token_exchange import PersonalTokenExchange
from services.gateway.proxy import UpstreamClient, proxy_route
from services.gateway.rate_limits import RateLimits
from services.gateway.settings import GatewaySettings
from shared.body_limit import RouteLimits
from shared.errors import RateLimited, ServiceUnavailable
from shared.openapi import ErrorDocs
from shared.passwords import set_hashing_share
from shared.platform import BrokerPlugin, DatabasePlugin, ServicePlugin, serve
from shared.scopes import MCP_PATH
from shared.settings import load_settings, split_list
from shared.tokens import TokenIssuer

EXPOSED_HEADERS = [
    "X-Request-ID", "ETag", "Location", "Retry-After",
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
    "Mcp-Session-Id", "WWW-Authenticate",
]  # fmt: skip
ALLOWED_HEADERS = [
    "Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID", "X-Timezone",
    # MCP clients in browsers (Streamable HTTP).
    "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID",
]  # fmt: skip


def create_app() -> ASGIApp:
    settings = load_settings(GatewaySettings)
    set_hashing_share(settings.password_hashing_share)
    service = ServicePlugin(
        settings,
        title="Todo platform API (gateway)",
        authenticate=False,  # the API guard checks tokens, before the rate limit
        # Litestar's document of the gateway's own routes; the public API's one document
        # (the services' merged in) is served at /schema by schema_router.
        openapi_path=OWN_SCHEMA_PATH,
        error_docs=ErrorDocs(
            is_public=lambda handler: bool(handler.opt.get(PUBLIC)),
            # Every route is rate limited, and the counters' store may be down.
            common=[RateLimited, ServiceUnavailable("Rate-limit store unavailable")],
        ),
    )
    database, broker = DatabasePlugin(settings), BrokerPlugin(settings)
    client = UpstreamClient(settings)
    hub = EventHub(settings, broker.broker)
    issuer = TokenIssuer(
        settings.private_key_pem(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl,
    )
    personal_tokens = PersonalTokenExchange(
        database,
        issuer,
        service.token_verifier,
        cache_seconds=settings.personal_token_cache_seconds,
    )
    limits = RateLimits(settings)
    upstreams = [
        Upstream("todos", "/api/v1/todos", settings.todos_url),
        Upstream("chat", "/api/v1/chat", settings.chat_url),
        Upstream("contexts", "/api/v1/contexts", settings.contexts_url),
    ]
    guard = DefineMiddleware(
        ApiGuardMiddleware,
        verifier=service.token_verifier,
        personal_tokens=personal_tokens,
        limits=limits,
        trusted_proxies=parse_networks(split_list(settings.trusted_proxies)),
        public_url=settings.public_url,
    )
    # Job submission carries a registry of up to 10 MiB and up to 5 MiB of documents, far
    # above the limit of every other route; it is forwarded as a stream.
    body_limits = RouteLimits(
        settings.max_body_bytes,
        {("POST", "/api/v1/contexts/jobs"): settings.contexts_max_body_bytes},
    )
    api = Router(
        path="/",
        middleware=[guard],
        route_handlers=[
            AuthController,
            PersonalTokenController,
            event_stream,
            mcp_resource_metadata,
            *(proxy_route(u.prefix, u.service, u.base_url, client, body_limits) for u in upstreams),
            # The todos service's MCP endpoint (its own path there too), not in the document.
            proxy_route(MCP_PATH, "todos", settings.todos_url, client, body_limits),
        ],
    )
    app = Litestar(
        route_handlers=[api, schema_router(PublicDocument(upstreams, client))],
        plugins=[service, database, broker],
        lifespan=[client.lifespan, hub.lifespan, personal_tokens.lifespan],
        dependencies={
            "token_issuer": Provide(lambda: issuer, sync_to_thread=False),
            "rate_limits": Provide(lambda: limits, sync_to_thread=False),
            "event_hub": Provide(lambda: hub, sync_to_thread=False),
            "personal_token_exchange": Provide(lambda: personal_tokens, sync_to_thread=False),
        },
        # Always on: with no allowed origins every preflight is refused here, never forwarded.
        cors_config=CORSConfig(
            allow_origins=split_list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        ),
        request_max_body_size=settings.max_body_bytes,
    )
    return serve(app, CorsRefusalEnvelope)
