"""The gate every `/api/v1/*` route handler sits behind: access token, then rate limit.

Register, login and refresh are the only routes without a token; every other route needs a
valid access token whatever the HTTP method (HEAD and OPTIONS too — CORS preflights are
answered earlier by the CORS layer and never reach a route). Requests are counted per user
when authenticated, per client IP otherwise.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.client_ip import Network, client_ip
from services.gateway.rate_limits import RateLimits
from shared.errors import Unauthorized
from shared.tokens import TokenVerifier

# Route handlers marked with this opt need no token (register, login, refresh).
PUBLIC = "public"


class ApiGuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        limits: RateLimits,
        trusted_proxies: list[Network],
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.limits = limits
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verifier, limits, trusted = self.verifier, self.limits, self.trusted
        ip = client_ip(scope, trusted)
        scope["client_ip"] = ip  # type: ignore[typeddict-unknown-key]
        if scope["route_handler"].opt.get(PUBLIC):
            key = "ip:" + ip
        else:
            authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            try:
                claims = verifier.verify_header(
                    authorization.decode("latin-1") if authorization else None
                )
            except Unauthorized:
                # Refused tokens are counted too, against the IP: guessing is not free.
                await limits.consume_api("ip:" + ip)
                raise
            scope["user"] = claims.user_id
            scope["auth"] = claims
            key = "user:" + claims.user_id
        quota_headers = (await limits.consume_api(key)).headers()

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *quota_headers]
            await send(message)

        await self.app(scope, receive, send_with_quota)
