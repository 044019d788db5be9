"""Request body limits: declared per route where the route is declared, enforced here.

A route's limit is Litestar's ``request_max_body_size`` of its handler (resolved through
its controller, router and app), or, for a mount that forwards many routes (the
gateway's proxy), the :class:`RouteLimits` in its ``opt`` under :data:`BODY_LIMIT`.

:func:`refuse_oversized` (run for every request by ``shared.request_guard``) answers 413
for a declared Content-Length over the route's limit — after reading it:
answering while the client is still uploading and then closing the connection makes many
clients (httpx among them) report "server disconnected" instead of the 413, so the body
is read and discarded (up to ``DRAIN_CAP`` bytes) first. Bodies without a Content-Length
are counted where they are read, against the same limit (Litestar for local routes, the
gateway's proxy for forwarded ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from litestar.handlers import HTTPRouteHandler
from litestar.types import Receive, Scope, Send

from shared.errors import PayloadTooLarge, send_error

DRAIN_CAP = 16 * 1024 * 1024
BODY_LIMIT = "body_limit"  # the opt key of a mount's RouteLimits


@dataclass(frozen=True)
class RouteLimits:
    """The limits of the routes behind a mount: ``default``, or more for some
    ``(method, path)``."""

    default: int
    routes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def of(self, method: str, path: str) -> int:
        return self.routes.get((method, path.rstrip("/")), self.default)


def route_body_limit(scope: Scope) -> int | None:
    """The body limit of the request's route (None: no limit declared)."""
    handler = scope.get("route_handler")
    declared = handler.opt.get(BODY_LIMIT) if handler is not None else None
    if isinstance(declared, RouteLimits):
        path = scope.get("raw_path") or scope["path"].encode()
        return declared.of(str(scope.get("method", "GET")), path.decode("latin-1"))
    if isinstance(handler, HTTPRouteHandler):
        return handler.resolve_request_max_body_size()
    return None


async def refuse_oversized(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer 413 when the request declares a body over its route's limit; whether it did."""
    limit = route_body_limit(scope)
    if limit is None:
        return False
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
    if not (declared.isdigit() and int(declared) > limit):
        return False
    if int(declared) <= DRAIN_CAP:
        await _drain(receive)
    await send_error(send, PayloadTooLarge(details={"limit_bytes": limit}), close=True)
    return True


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
