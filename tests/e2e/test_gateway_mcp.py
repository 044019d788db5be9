"""The gateway's ``/mcp`` route: forwarded to the todos service behind the API guard, the
protected resource metadata (RFC 9728) and the 401 that points MCP clients at it, the
personal token exchanged for a JWT before anything is forwarded, and the request id and
rate limit of ``/api/v1/*``."""

from __future__ import annotations

import json
import re
import time
import uuid
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
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
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


def quota(response: httpx.Response) -> tuple[int, int, int]:
    """The rate-limit headers of an answer: limit, remaining, reset (unix seconds)."""
    limit, remaining, reset = (
        int(response.headers[f"x-ratelimit-{name}"]) for name in ("limit", "remaining", "reset")
    )
    return limit, remaining, reset


def access_lines(service: ServiceProcess, request_id: str) -> list[dict]:
    entries = (json.loads(line) for line in service.log().splitlines() if line.startswith("{"))
    return [e for e in entries if e.get("logger") == "access" and e.get("request_id") == request_id]


def test_mcp_answers_carry_the_request_id_and_the_quota(
    stack: Stack, api: httpx.Client, make_user: UserFactory
) -> None:
    """As on /api/v1/*: the X-Request-ID sent (else a new one) comes back once, reaches the
    todos service (its access log), and the answer carries the caller's quota."""
    user = make_user()
    headers = {**user.headers, **MCP_HEADERS}
    sent_id = f"mcp-{uuid.uuid4().hex}"
    answered = api.post("/mcp", json=TOOLS_LIST, headers={**headers, "X-Request-ID": sent_id})
    assert answered.status_code == 200, answered.text
    assert answered.json()["result"]["tools"]
    assert answered.headers.get_list("x-request-id") == [sent_id]
    limit, remaining, reset = quota(answered)
    assert limit == int(stack.gateway.env["RATE_LIMIT"].split("/")[0])  # the suite's limit
    assert 0 <= remaining < limit and reset > time.time()
    deadline = time.monotonic() + 5
    while not (seen := access_lines(stack.todos, sent_id)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the access line is written after the answer
    assert [entry["msg"] for entry in seen] == ["POST /mcp 200"]

    generated = [api.post("/mcp", json=TOOLS_LIST, headers=headers) for _ in range(2)]
    ids = [answer.headers.get_list("x-request-id") for answer in generated]
    for answer, [request_id] in zip(generated, ids, strict=True):
        assert answer.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert quota(answer)[1] < remaining  # counted, per user
    assert ids[0] != ids[1]
    # A JSON-RPC error answer carries them too.
    refused = api.post("/mcp", content=b"not json", headers={**headers, "X-Request-ID": "rpc-1"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == -32700
    assert refused.headers.get_list("x-request-id") == ["rpc-1"] and quota(refused)[0] == limit


def test_the_request_id_is_forwarded_with_mcp_calls(
    recording_gateway: ServiceProcess, upstream: RecordingUpstream, make_user: UserFactory
) -> None:
    user = make_user()
    upstream.requests.clear()
    sent = httpx.post(
        f"{recording_gateway.url}/mcp",
        json=TOOLS_LIST,
        headers={**user.headers, "X-Request-ID": "trace-mcp-7"},
    )
    assert sent.status_code == 200 and sent.headers.get_list("x-request-id") == ["trace-mcp-7"]
    [seen] = upstream.requests
    assert {k.lower(): v for k, v in seen.headers.items()}["x-request-id"] == "trace-mcp-7"


def test_mcp_is_rate_limited_like_the_api(
    stack: Stack, make_user: UserFactory, started: list[ServiceProcess]
) -> None:
    """Over the limit, /mcp answers 429 in the platform's error envelope (not JSON-RPC),
    before anything reaches the todos service; /api/v1/* shares the same per-user count."""
    gateway = stack.start_gateway(rate_limit="3/minute")
    started.append(gateway)
    user, bystander = make_user(), make_user()
    headers = {**user.headers, **MCP_HEADERS}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        seen = [client.post("/mcp", json=TOOLS_LIST, headers=headers) for _ in range(2)]
        assert [r.status_code for r in seen] == [200, 200], seen[-1].text
        assert [quota(r)[:2] for r in seen] == [(3, 2), (3, 1)]
        assert client.get("/api/v1/todos", headers=user.headers).status_code == 200
        limited = client.post("/mcp", json=TOOLS_LIST, headers=headers)
        error = assert_gateway_error(limited, 429, "RATE_LIMITED")
        assert "jsonrpc" not in limited.json()
        retry_after = int(limited.headers["retry-after"])
        assert retry_after >= 1 and error["details"]["retry_after"] == retry_after
        assert quota(limited)[:2] == (3, 0)
        # Counted per user: another user's calls still go through.
        other = client.post("/mcp", json=TOOLS_LIST, headers={**bystander.headers, **MCP_HEADERS})
        assert other.status_code == 200 and other.json()["result"]["tools"]
