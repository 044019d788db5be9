"""The MCP endpoint's protected resource metadata (RFC 9728), which MCP clients read to
learn how to authenticate: ``GET /.well-known/oauth-protected-resource/mcp``.

The endpoint itself (``/mcp``) is forwarded to the todos service by the proxy; a 401 there
points at this document (``shared.auth_middleware.challenge``). Tokens are personal access
tokens made by the user, so no authorization server is named (yet).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from services.gateway.api_guard import PUBLIC
from services.gateway.schemas import ProtectedResourceMetadata
from services.gateway.settings import GatewaySettings
from shared.auth_middleware import MCP_RESOURCE_METADATA_PATH, public_base_url
from shared.scopes import MCP_PATH, SCOPE_ORDER

RESOURCE_NAME = "Todo platform"
CACHE_SECONDS = 300


@get(
    MCP_RESOURCE_METADATA_PATH,
    opt={PUBLIC: True},
    name="mcp-resource-metadata",
    tags=["mcp"],
    summary="The MCP endpoint's protected resource metadata (RFC 9728)",
)
async def mcp_resource_metadata(
    request: Request[Any, Any, Any], settings: NamedDependency[GatewaySettings]
) -> Response[ProtectedResourceMetadata]:
    """How to call `/mcp`: a bearer token in the `Authorization` header (a personal access
    token from `POST /api/v1/auth/tokens`), and the scopes there are."""
    base = public_base_url(request.scope, settings.public_url)
    metadata = ProtectedResourceMetadata(
        resource=base + MCP_PATH,
        bearer_methods_supported=["header"],
        scopes_supported=list(SCOPE_ORDER),
        resource_name=RESOURCE_NAME,
        resource_documentation=base + "/schema",
    )
    return Response(metadata, headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})
