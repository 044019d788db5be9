"""Bearer-token authentication for the internal services.

Each service verifies the JWT itself with the public key; it never trusts a user id in a
header set by the gateway. Every HTTP method is checked, OPTIONS and HEAD included.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.types import ASGIApp

from shared.errors import Unauthorized
from shared.tokens import TokenVerifier

PUBLIC_PATHS = ["^/health/", "^/schema", "^/metrics$"]


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier, **options: Any) -> None:
        super().__init__(app, **options)
        self.verifier = verifier

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        claims = self.verifier.verify_header(connection.headers.get("authorization"))
        return AuthenticationResult(user=claims.user_id, auth=claims)


def bearer_auth(verifier: TokenVerifier) -> DefineMiddleware:
    return DefineMiddleware(
        BearerAuthMiddleware, verifier=verifier, exclude=PUBLIC_PATHS, exclude_http_methods=[]
    )


def user_id(subject: uuid.UUID | str) -> uuid.UUID:
    """The user a token's subject names; a subject that is not a UUID is an invalid token."""
    if isinstance(subject, uuid.UUID):
        return subject
    try:
        return uuid.UUID(subject)
    except (ValueError, TypeError, AttributeError):
        raise Unauthorized("Invalid access token subject") from None


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> uuid.UUID:
    """The authenticated caller of a request (``request.user``, set by this middleware)."""
    return user_id(connection.user)
