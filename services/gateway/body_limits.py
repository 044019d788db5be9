"""Request body limits per route: the default everywhere, more where a route needs it.

Job submission (``POST /api/v1/contexts/jobs``) carries a task registry of up to 10 MiB
and up to 5 MiB of project documents, far above the 1 MiB every other route accepts. The
app-wide limit (the outermost layer, see ``shared.service_app``) is therefore the largest
of them, and this layer holds every other request to the default again: a declared
Content-Length over its route's limit is answered 413 here, an undeclared (chunked) body
is counted by the proxy against :func:`body_limit`.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from services.gateway.settings import GatewaySettings
from shared.body_limit import DeclaredBodyLimit

CONTEXTS_JOBS_PATH = "/api/v1/contexts/jobs"


def body_limit(settings: GatewaySettings, method: str, path: str) -> int:
    """The largest body accepted for ``method path``."""
    if method == "POST" and path.rstrip("/") == CONTEXTS_JOBS_PATH:
        return settings.contexts_max_body_bytes
    return settings.max_body_bytes


def largest_body_limit(settings: GatewaySettings) -> int:
    return max(settings.max_body_bytes, settings.contexts_max_body_bytes)


class RouteBodyLimits:
    """413 for a declared body over the limit of its route (see :func:`body_limit`)."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.settings = settings
        self.limits = {
            limit: DeclaredBodyLimit(app, limit)
            for limit in (settings.max_body_bytes, settings.contexts_max_body_bytes)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
        limit = body_limit(self.settings, str(method), scope.get("path", ""))
        await self.limits[limit](scope, receive, send)
