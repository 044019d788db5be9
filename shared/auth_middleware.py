"""Bearer-token authentication for the internal services.

Each service verifies the JWT itself with the public key; it never trusts a user id in a
header set by the gateway. Every HTTP method is checked, OPTIONS and HEAD included, and
so is the token's scope for the request (shared.scopes).

A refusal on the MCP endpoint also tells an MCP client where the protected resource's
metadata is (RFC 9728; the MCP authorization spec): :func:`challenge`, used here and by
the gateway's guard.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import Scope

from shared.errors import AppError, InsufficientScope, Unauthorized
from shared.scopes import MCP_PATH, is_mcp_path, request_path, require_scope, required_scopes
from shared.tokens import AccessClaims, TokenVerifier

PUBLIC_PREFIXES = ("/health/", "/schema")
# RFC 9728 §3.1: the metadata of the resource `<base>/mcp` lives at this path of `<base>`.
MCP_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource" + MCP_PATH
# A Host header we are willing to repeat in a response header: a name or address, a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def authenticate(scope: Scope, verifier: TokenVerifier, public_url: str) -> AccessClaims:
    """The claims of the request's valid access token, whose scopes cover the request;
    401 / 403 (:func:`challenge`) otherwise."""
    authorization = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"authorization"),
        None,
    )
    try:
        claims = verifier.verify_header(authorization)
        require_scope(claims, required_scopes(scope["method"], request_path(scope)))  # type: ignore[typeddict-item]
    except (Unauthorized, InsufficientScope) as exc:
        raise challenge(exc, scope, public_url) from None
    return claims


def is_public_path(path: str) -> bool:
    """Health, metrics and the API document need no token."""
    return path.startswith(PUBLIC_PREFIXES) or path == "/metrics"


def public_base_url(scope: Scope, public_url: str) -> str:
    """The platform's public URL: ``PUBLIC_URL`` when set, else this request's scheme and
    host (a Host header that is not a plain host name, address and port is not repeated:
    the server's own address is used instead)."""
    if public_url:
        return public_url.rstrip("/")
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if not _HOST.match(host):
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def challenge(exc: Unauthorized | InsufficientScope, scope: Scope, public_url: str) -> AppError:
    """``exc`` (a 401 or 403 of the token check); on the MCP endpoint its
    ``WWW-Authenticate`` also names the resource's metadata document."""
    if not is_mcp_path(request_path(scope)):
        return exc
    metadata = public_base_url(scope, public_url) + MCP_RESOURCE_METADATA_PATH
    current = exc.headers.get("WWW-Authenticate", "Bearer")
    separator = " " if current == "Bearer" else ", "
    exc.headers["WWW-Authenticate"] = f'{current}{separator}resource_metadata="{metadata}"'
    return exc


def user_id(subject: uuid.UUID | str) -> uuid.UUID:
    """The user a token's subject names; a subject that is not a UUID is an invalid token."""
    if isinstance(subject, uuid.UUID):
        return subject
    try:
        return uuid.UUID(subject)
    except (ValueError, TypeError, AttributeError):
        raise Unauthorized("Invalid access token subject") from None


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> uuid.UUID:
    """The authenticated caller of a request (``request.user``, set by
    ``shared.request_guard``)."""
    return user_id(connection.user)
