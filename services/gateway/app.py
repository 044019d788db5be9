"""Wires the gateway: auth API, the API guard (token + rate limit), CORS, the proxy and the
public API's one OpenAPI document (``openapi_merge``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp

from services.gateway.api_guard import PUBLIC, ApiGuardMiddleware
from services.gateway.auth_controller import AuthController
from services.gateway.body_limits import RouteBodyLimits, largest_body_limit
from services.gateway.client_ip import parse_networks
from services.gateway.cors_refusals import CorsRefusalEnvelope
from services.gateway.event_stream import event_hub, event_stream
from services.gateway.openapi_merge import (
    OWN_SCHEMA_PATH,
    PublicDocument,
    Upstream,
    schema_router,
)
from services.gateway.proxy import create_client, proxy_route
from services.gateway.rate_limits import RateLimits
from services.gateway.settings import GatewaySettings
from shared.errors import RateLimited, ServiceUnavailable
from shared.openapi import ErrorDocs
from shared.service_app import build_app
from shared.settings import load_settings, split_list
from shared.tokens import TokenIssuer

EXPOSED_HEADERS = [
    "X-Request-ID", "ETag", "Location", "Retry-After",
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
]  # fmt: skip


def create_app() -> ASGIApp:
    settings = load_settings(GatewaySettings)

    @asynccontextmanager
    async def upstream_client(app: Litestar) -> AsyncIterator[None]:
        app.state.http_client = create_client(settings)
        try:
            yield
        finally:
            await app.state.http_client.close()

    upstreams = [
        Upstream("todos", "/api/v1/todos", settings.todos_url),
        Upstream("chat", "/api/v1/chat", settings.chat_url),
        Upstream("contexts", "/api/v1/contexts", settings.contexts_url),
    ]
    api = Router(
        path="/",
        middleware=[ApiGuardMiddleware],
        # The app accepts the largest body of any route (job submission, forwarded as a
        # stream); the gateway's own routes keep the default limit.
        request_max_body_size=settings.max_body_bytes,
        route_handlers=[
            AuthController,
            event_stream,
            *(proxy_route(u.prefix, u.service, u.base_url) for u in upstreams),
        ],
    )
    return build_app(
        settings,
        title="Todo platform API (gateway)",
        # The public API's one document (the services' merged in) at /schema; Litestar's
        # document of the gateway's own routes at /schema/gateway.
        route_handlers=[api, schema_router(PublicDocument(upstreams))],
        openapi_path=OWN_SCHEMA_PATH,
        error_docs=ErrorDocs(
            is_public=lambda handler: bool(handler.opt.get(PUBLIC)),
            # Every route is rate limited, and the counters' store may be down.
            common=[RateLimited, ServiceUnavailable("Rate-limit store unavailable")],
        ),
        lifespan=[upstream_client, event_hub],
        state={
            "token_issuer": TokenIssuer(
                settings.private_key_pem(),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl,
            ),
            "rate_limits": RateLimits(settings),
            "trusted_proxies": parse_networks(split_list(settings.trusted_proxies)),
        },
        # Always on: with no allowed origins every preflight is refused here, never forwarded.
        cors_config=CORSConfig(
            allow_origins=split_list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
                "X-Timezone",
            ],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        ),
        request_max_body_size=largest_body_limit(settings),
        wrappers=[CorsRefusalEnvelope, lambda app: RouteBodyLimits(app, settings)],
    )
