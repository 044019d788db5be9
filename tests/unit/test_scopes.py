"""Which scopes a request needs, the 403 that says which, and the MCP endpoint's 401/403
challenge (``WWW-Authenticate`` naming the resource metadata)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth_middleware import challenge, public_base_url
from shared.errors import InsufficientScope, Unauthorized
from shared.scopes import (
    ALL_SCOPES,
    CHAT,
    CONTEXTS,
    TODOS_READ,
    TODOS_WRITE,
    request_path,
    require_scope,
    required_scopes,
)
from shared.tokens import AccessClaims

EITHER = {TODOS_READ, TODOS_WRITE}


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/api/v1/todos", {TODOS_READ}),
        ("HEAD", "/api/v1/todos/1", {TODOS_READ}),
        ("OPTIONS", "/api/v1/todos", {TODOS_READ}),
        ("POST", "/api/v1/todos", {TODOS_WRITE}),
        ("PATCH", "/api/v1/todos/1", {TODOS_WRITE}),
        ("DELETE", "/api/v1/todos/1", {TODOS_WRITE}),
        ("GET", "/api/v1/chat/conversations", {CHAT}),
        ("POST", "/api/v1/chat", {CHAT}),
        ("GET", "/api/v1/contexts/jobs", {CONTEXTS}),
        ("POST", "/mcp", EITHER),
        ("GET", "/mcp/", EITHER),
        ("GET", "/api/v1/auth/me", set()),
        ("GET", "/api/v1/events", set()),
        ("GET", "/api/v1/todosX", set()),  # not under /api/v1/todos (and a 404 anyway)
        ("GET", "/mcpx", set()),
    ],
)
def test_the_scopes_a_request_needs(method: str, path: str, needed: set[str]) -> None:
    assert required_scopes(method, path) == needed


def scope_of(raw_path: bytes, path: str = "/", **extra: Any) -> Any:
    return {"type": "http", "method": "GET", "path": path, "raw_path": raw_path,
            "headers": [], "scheme": "http", **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "read_as"),
    [
        (b"/api/v1/todos/1", "/api/v1/todos/1"),
        (b"//api/v1//todos/", "/api/v1/todos"),  # the router collapses slashes too
        (b"/api/v1/%74odos", "/api/v1/todos"),  # and reads the decoded path
        (b"/mcp", "/mcp"),
    ],
)
def test_the_path_is_read_as_routing_reads_it(raw: bytes, read_as: str) -> None:
    # Under a mount Litestar leaves only the rest of the path in scope["path"].
    assert request_path(scope_of(raw, path="/")) == read_as


def claims(scopes: frozenset[str]) -> AccessClaims:
    return AccessClaims("u", "t", 0, scopes=scopes)


def test_a_token_needs_one_of_the_scopes() -> None:
    require_scope(claims(ALL_SCOPES), frozenset({CHAT}))
    require_scope(claims(frozenset({TODOS_WRITE})), frozenset(EITHER))
    require_scope(claims(frozenset({CHAT})), frozenset())
    with pytest.raises(InsufficientScope) as refused:
        require_scope(claims(frozenset({CHAT})), frozenset(EITHER))
    error = refused.value
    assert error.status_code == 403 and error.code == "INSUFFICIENT_SCOPE"
    assert "one of todos:read, todos:write" in error.message
    assert error.details == {"required_scopes": ["todos:read", "todos:write"]}
    assert error.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="todos:read todos:write"'
    )


def test_a_refusal_on_mcp_names_the_resource_metadata() -> None:
    scope = scope_of(b"/mcp", headers=[(b"host", b"api.example.com:8443")], scheme="https")
    refused = challenge(Unauthorized(), scope, "")
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer resource_metadata="https://api.example.com:8443'
        '/.well-known/oauth-protected-resource/mcp"'
    )
    forbidden = challenge(InsufficientScope([TODOS_READ]), scope, "https://todo.example/")
    assert forbidden.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="todos:read", '
        'resource_metadata="https://todo.example/.well-known/oauth-protected-resource/mcp"'
    )


def test_elsewhere_the_challenge_is_plain() -> None:
    refused = challenge(Unauthorized(), scope_of(b"/api/v1/todos"), "https://todo.example")
    assert refused.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("host", [b'evil"x', b"a b", b"", b"host:port"])
def test_a_host_header_that_is_not_a_host_is_not_repeated(host: bytes) -> None:
    scope = scope_of(b"/mcp", headers=[(b"host", host)], server=("10.0.0.5", 8000))
    assert public_base_url(scope, "") == "http://10.0.0.5:8000"
