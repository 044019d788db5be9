"""What every request of a service passes before its handler, paid once in one layer.

In order: the route's body limit (``shared.body_limit``: 413 before anything reads the
body), no NUL character in path or query parameters (``shared.input_checks``), and, in
services that authenticate, the bearer token and its scopes (``shared.auth_middleware``)
on every path but health, metrics and the API document, whatever the HTTP method. It runs
after routing (Litestar app middleware), so the route's limit and parameters are known.
One layer instead of three: each Litestar middleware layer costs every request a call
frame, a scope lookup and its exclusion checks, and this is the hottest path there is.
"""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.auth_middleware import authenticate, is_public_path
from shared.body_limit import refuse_oversized
from shared.input_checks import check_url_parameters
from shared.scopes import request_path
from shared.tokens import TokenVerifier


class RequestGuard(ASGIMiddleware):
    """``verifier`` None: no token check here (the gateway has its own guard)."""

    def __init__(self, verifier: TokenVerifier | None = None, public_url: str = "") -> None:
        self.verifier = verifier
        self.public_url = public_url

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] == "http" and await refuse_oversized(scope, receive, send):
            return
        check_url_parameters(scope)
        if self.verifier is not None and not is_public_path(request_path(scope)):
            claims = authenticate(scope, self.verifier, self.public_url)
            scope["user"] = claims.user_id
            scope["auth"] = claims
        await next_app(scope, receive, send)
