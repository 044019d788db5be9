"""Builds a service's Litestar app with the pieces every service shares.

A service's ``app.py`` calls :func:`build_app` with its settings, controllers and extra
lifespan hooks; this function adds the database engine, the token verifier, error
rendering, health endpoints (readiness: the database plus ``readiness``), ``/metrics``,
OpenAPI at ``/schema/openapi.json`` (every error documented as the envelope, see
``shared.openapi``) and request ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, ControllerRouterHandler, Middleware

from shared.body_limit import DeclaredBodyLimit
from shared.db import (
    create_engine,
    database_reachable,
    make_sessionmaker,
    provide_reader,
    provide_session,
)
from shared.errors import EXCEPTION_HANDLERS
from shared.health import Dependency, HealthController
from shared.input_checks import CheckedRequest, UrlParameterCheck
from shared.logging import configure_logging
from shared.metrics import MetricsController, pool_hook, register_scrape_hook
from shared.openapi import ErrorDocs, document
from shared.request_id import RequestIdMiddleware
from shared.settings import CommonSettings
from shared.tokens import TokenVerifier

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def build_app(
    settings: CommonSettings,
    *,
    title: str,
    route_handlers: Sequence[ControllerRouterHandler],
    middleware: Sequence[Middleware] = (),
    lifespan: Sequence[Lifespan] = (),
    state: dict[str, Any] | None = None,
    cors_config: CORSConfig | None = None,
    request_max_body_size: int = 1024 * 1024,
    wrappers: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    readiness: Sequence[Dependency] = (),
    error_docs: ErrorDocs = ErrorDocs(),  # noqa: B008 - frozen, never mutated
    openapi_path: str = "/schema",
) -> ASGIApp:
    """The ASGI app to serve: the Litestar app inside the request-id layer."""
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        unregister = register_scrape_hook(pool_hook(engine))
        try:
            yield
        finally:
            unregister()
            # Last: the other hooks' work (relays, consumers) is done with it by now.
            await engine.dispose()

    async def database_ready() -> bool:
        return await database_reachable(litestar_app.state.engine)

    litestar_app = Litestar(
        route_handlers=[HealthController, MetricsController, *route_handlers],
        middleware=[UrlParameterCheck(), *middleware],
        request_class=CheckedRequest,
        lifespan=[database, *lifespan],
        dependencies={"session": Provide(provide_session), "reader": Provide(provide_reader)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(title=title, version="1.0.0", path=openapi_path),
        cors_config=cors_config,
        request_max_body_size=request_max_body_size,
        state=_state(settings, state or {}),
        debug=False,
        logging_config=None,  # configure_logging above owns the log format
    )
    litestar_app.state.readiness = [Dependency("database", database_ready), *readiness]
    # Every error documented as the envelope it really is, and more truths (shared.openapi).
    document(litestar_app, error_docs)
    # ASGI layers outside Litestar (``wrappers``, innermost first), then the request id
    # outermost, so even a 404 for an unknown route carries X-Request-ID and is logged.
    asgi_app: ASGIApp = litestar_app
    for wrap in wrappers:
        asgi_app = wrap(asgi_app)
    asgi_app = DeclaredBodyLimit(asgi_app, request_max_body_size)
    return RequestIdMiddleware(asgi_app)


def _state(settings: CommonSettings, extra: dict[str, Any]) -> State:
    verifier = TokenVerifier(
        settings.public_key_pem(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    return State({"settings": settings, "token_verifier": verifier, **extra})
