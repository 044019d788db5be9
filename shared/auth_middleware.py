"""Bearer-token authentication for the internal services.

Each service verifies the JWT itself with the public key; it never trusts a user id in a
header set by the gateway. Every HTTP method is checked, OPTIONS and HEAD included.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)

from shared.tokens import TokenVerifier

PUBLIC_PATHS = ["^/health/", "^/schema", "^/metrics$"]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        verifier: TokenVerifier = connection.app.state.token_verifier
        claims = verifier.verify_header(connection.headers.get("authorization"))
        return AuthenticationResult(user=claims.user_id, auth=claims)


def bearer_auth() -> DefineMiddleware:
    return DefineMiddleware(BearerAuthMiddleware, exclude=PUBLIC_PATHS, exclude_http_methods=[])
