"""The gate every route handler of the gateway sits behind: token, rate limit, then scope.

Register, login, refresh and the MCP resource metadata are the only routes without a
token; every other route needs a valid token whatever the HTTP method (HEAD and OPTIONS
too — CORS preflights are answered earlier by the CORS layer and never reach a route).
A token is a login's access token (a JWT) or a personal access token (``tdp_...``), which
is exchanged for the JWT that stands for it (``personal_token_exchange``): from here on,
the request carries that JWT in its ``Authorization`` header, so nothing behind the guard
(the proxy above all) ever sees the personal token. Requests are counted per user when
authenticated, per client IP otherwise. Then the token's scopes must cover the request
(``shared.scopes``): 403 ``INSUFFICIENT_SCOPE`` otherwise.
"""

from __future__ import annotations

from typing import cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from litestar.utils.empty import Empty
from litestar.utils.scope.state import ScopeState

from services.gateway.client_ip import Network, client_ip
from services.gateway.personal_token_exchange import PersonalTokenExchange
from services.gateway.personal_tokens import is_personal_token
from services.gateway.rate_limits import RateLimits
from shared.auth_middleware import challenge
from shared.errors import InsufficientScope, Unauthorized
from shared.scopes import request_path, require_scope, required_scopes
from shared.tokens import AccessClaims, TokenVerifier, bearer_token

# Route handlers marked with this opt need no token (register, login, refresh).
PUBLIC = "public"


class ApiGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        personal_tokens: PersonalTokenExchange,
        limits: RateLimits,
        trusted_proxies: list[Network],
        public_url: str,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.personal_tokens = personal_tokens
        self.limits = limits
        self.trusted = trusted_proxies
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._guard(cast(HTTPScope, scope), receive, send)

    async def _guard(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        limits = self.limits
        ip = client_ip(scope, self.trusted)
        scope["client_ip"] = ip  # type: ignore[typeddict-unknown-key]
        claims: AccessClaims | None = None
        if scope["route_handler"].opt.get(PUBLIC):
            key = "ip:" + ip
        else:
            try:
                claims = await self._authenticate(scope, ip)
            except Unauthorized as exc:
                # Refused tokens are counted too, against the IP: guessing is not free.
                await limits.consume_api("ip:" + ip)
                raise challenge(exc, scope, self.public_url) from None
            scope["user"] = claims.user_id
            scope["auth"] = claims
            key = "user:" + claims.user_id
        quota_headers = (await limits.consume_api(key)).headers()
        if claims is not None:
            try:
                require_scope(claims, required_scopes(scope["method"], request_path(scope)))
            except InsufficientScope as exc:
                raise challenge(exc, scope, self.public_url) from None

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *quota_headers]
            await send(message)

        await self.app(scope, receive, send_with_quota)

    async def _authenticate(self, scope: HTTPScope, ip: str) -> AccessClaims:
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        token = bearer_token(authorization.decode("latin-1") if authorization else None)
        if not is_personal_token(token):
            return self.verifier.verify(token)
        if not self.personal_tokens.is_known(token):
            # Finding it costs a query: a lookup counts against the IP first, so guessing
            # personal tokens is throttled before it reaches the database.
            await self.limits.consume_api("ip:" + ip)
        exchanged = await self.personal_tokens.exchange(token)
        scope["headers"] = [
            *((k, v) for k, v in scope["headers"] if k != b"authorization"),
            (b"authorization", exchanged.authorization),
        ]
        ScopeState.from_scope(scope).headers = Empty  # Litestar's parsed copy, if any
        return exchanged.claims
