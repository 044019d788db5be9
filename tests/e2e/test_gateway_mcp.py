"""The gateway's ``/mcp`` route: forwarded to the todos service behind the API guard, the
protected resource metadata (RFC 9728) and the 401 that points MCP clients at it, and the
personal token exchanged for a JWT before anything is forwarded."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.support.envelope import assert_gateway_error
from tests.support.hostile import bearer
from tests.support.processes import ServiceProcess
from tests.support.stack import Stack, User, UserFactory
from tests.support.upstream import RecordingUpstream

METADATA = "/.well-known/oauth-protected-resource/mcp"
PUBLIC_URL = "https://todo.example"
SCOPES = ["todos:read", "todos:write", "chat", "contexts"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def recording_gateway(stack: Stack, upstream: RecordingUpstream) -> Iterator[ServiceProcess]:
    """A gateway whose todos upstream records what it is sent; its public URL is set."""
    gateway = stack.start_gateway(
        todos_url=upstream.url, public_url=PUBLIC_URL, cors_origins="https://app.example.com"
    )
    yield gateway
    gateway.stop()


def personal_token(gateway_url: str, user: User, scopes: list[str]) -> str:
    made = httpx.post(
        f"{gateway_url}/api/v1/auth/tokens",
        json={"name": "mcp client", "scopes": scopes},
        headers=user.headers,
    )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def test_the_metadata_document_names_the_resource(api: httpx.Client, stack: Stack) -> None:
    response = api.get(METADATA)
    assert response.status_code == 200
    assert response.json() == {
        "resource": f"{stack.gateway.url}/mcp",
        "bearer_methods_supported": ["header"],
        "scopes_supported": SCOPES,
        "resource_name": "Todo platform",
        "resource_documentation": f"{stack.gateway.url}/schema",
    }
    assert "x-ratelimit-limit" in response.headers  # counted per IP, like login


def test_without_a_token_mcp_is_401_pointing_at_the_metadata(
    api: httpx.Client, stack: Stack, recording_gateway: ServiceProcess
) -> None:
    for path in ("/mcp", "/mcp/"):
        refused = api.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert_gateway_error(refused, 401, "UNAUTHORIZED")
        assert refused.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{stack.gateway.url}{METADATA}"'
        )
    # With PUBLIC_URL set, that is the base, whatever the Host header says.
    elsewhere = httpx.post(f"{recording_gateway.url}/mcp", headers={"Host": "evil.example"})
    assert elsewhere.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{PUBLIC_URL}{METADATA}"'
    )
    public = httpx.get(f"{recording_gateway.url}{METADATA}").json()
    assert public["resource"] == f"{PUBLIC_URL}/mcp"
    # Elsewhere a 401 names no metadata.
    assert api.get("/api/v1/todos").headers["www-authenticate"] == "Bearer"


def test_the_todos_service_points_at_the_metadata_too(stack: Stack) -> None:
    refused = httpx.post(f"{stack.todos.url}/mcp", json={})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{stack.todos.url}{METADATA}"'
    )


def test_mcp_needs_a_todos_scope(api: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    chatter = personal_token(str(api.base_url), user, ["chat", "contexts"])
    refused = api.post("/mcp", json={}, headers=bearer(chatter))
    assert_gateway_error(refused, 403, "INSUFFICIENT_SCOPE")
    assert refused.headers["www-authenticate"].startswith(
        'Bearer error="insufficient_scope", scope="todos:read todos:write", resource_metadata='
    )


def test_mcp_is_forwarded_with_a_minted_jwt_never_the_personal_token(
    recording_gateway: ServiceProcess, upstream: RecordingUpstream, make_user: UserFactory
) -> None:
    user = make_user()
    token = personal_token(recording_gateway.url, user, ["todos:read"])
    upstream.requests.clear()
    for path in ("/mcp", "/mcp/sub?x=1"):
        sent = httpx.post(
            f"{recording_gateway.url}{path}",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**bearer(token), "Mcp-Protocol-Version": "2025-06-18"},
        )
        assert sent.status_code == 200, sent.text
    assert [seen.path for seen in upstream.requests] == ["/mcp", "/mcp/sub?x=1"]
    first, second = ({k.lower(): v for k, v in seen.headers.items()} for seen in upstream.requests)
    authorization = first["authorization"]
    assert token not in str(first) and authorization.startswith("Bearer ey")
    assert second["authorization"] == authorization  # reused, not signed again
    assert first["mcp-protocol-version"] == "2025-06-18"
    claims = jwt.decode(authorization.removeprefix("Bearer "), options={"verify_signature": False})
    assert claims["sub"] == user.id and claims["scope"] == "todos:read"
    assert claims["exp"] - claims["iat"] <= 300 and claims["pat"]


def test_browsers_may_send_and_read_the_mcp_headers(recording_gateway: ServiceProcess) -> None:
    preflight = httpx.options(
        f"{recording_gateway.url}/mcp",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, mcp-session-id, "
            "mcp-protocol-version, last-event-id",
        },
    )
    assert preflight.status_code in (200, 204), preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("mcp-session-id", "mcp-protocol-version", "last-event-id"):
        assert header in allowed
    answered = httpx.get(
        f"{recording_gateway.url}{METADATA}", headers={"Origin": "https://app.example.com"}
    )
    exposed = answered.headers["access-control-expose-headers"].lower()
    assert "mcp-session-id" in exposed and "www-authenticate" in exposed
