"""What a token may do: its scopes, and the scopes each request needs (docs/design.md §2).

A login's access token carries no ``scope`` claim and may do everything. A personal access
token is limited to the scopes chosen when it was created; the access token the gateway
mints for it carries them in ``scope`` (space-separated, as in RFC 8693). The gateway
checks them before forwarding and every service checks them again (shared.auth_middleware).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import unquote

from litestar.types import Scope
from litestar.utils import normalize_path

from shared.errors import InsufficientScope

if TYPE_CHECKING:
    from shared.tokens import AccessClaims

ScopeName = Literal["todos:read", "todos:write", "chat", "contexts"]
TODOS_READ: ScopeName = "todos:read"
TODOS_WRITE: ScopeName = "todos:write"
CHAT: ScopeName = "chat"
CONTEXTS: ScopeName = "contexts"
# In the order they are listed to people.
SCOPE_ORDER: tuple[ScopeName, ...] = get_args(ScopeName)
ALL_SCOPES: frozenset[str] = frozenset(SCOPE_ORDER)

MCP_PATH = "/mcp"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOTHING: frozenset[str] = frozenset()
TODOS_READ_OR_WRITE = frozenset({TODOS_READ, TODOS_WRITE})


def ordered(scopes: frozenset[str] | set[str]) -> list[str]:
    """``scopes`` in the order of :data:`SCOPE_ORDER`."""
    return [name for name in SCOPE_ORDER if name in scopes]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_mcp_path(path: str) -> bool:
    return _under(path, MCP_PATH)


def required_scopes(method: str, path: str) -> frozenset[str]:
    """The scopes of which a request needs one (any of them); empty: a valid token is enough.

    MCP's tools each check read or write themselves (todos service); reaching the endpoint
    takes one of the two.
    """
    if _under(path, "/api/v1/todos"):
        return frozenset({TODOS_READ if method in READ_METHODS else TODOS_WRITE})
    if _under(path, "/api/v1/chat"):
        return frozenset({CHAT})
    if _under(path, "/api/v1/contexts"):
        return frozenset({CONTEXTS})
    if is_mcp_path(path):
        return TODOS_READ_OR_WRITE
    return NOTHING


def request_path(scope: Scope) -> str:
    """The path the client asked for, as routing read it.

    Litestar replaces ``scope["path"]`` with the rest of the path under a mount (the proxy's
    ``/api/v1/todos``, the MCP endpoint), so the path is read from ``raw_path``, decoded
    and normalised the way the router does it (``//api/v1/todos`` is ``/api/v1/todos``).
    """
    raw = scope.get("raw_path")
    if raw is None:
        return str(scope["path"])
    return normalize_path(unquote(raw.decode("latin-1")))


def require_scope(claims: AccessClaims, needed: frozenset[str]) -> None:
    """Raise :class:`InsufficientScope` unless ``claims`` hold one of ``needed`` (if any)."""
    if needed and not (claims.scopes & needed):
        raise InsufficientScope(ordered(needed))
