"""The gateway's own behaviour: envelope, request ids, limits, proxying, CORS, upstream failures."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.envelope import assert_gateway_error
from tests.support.processes import ServiceProcess
from tests.support.stack import Stack, User, UserFactory
from tests.support.upstream import RecordingUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream(delay=3.0).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy_gateway(stack: Stack, upstream: RecordingUpstream) -> Iterator[ServiceProcess]:
    """A gateway whose todos and chat upstreams are the recording server."""
    gateway = stack.start_gateway(
        todos_url=upstream.url,
        chat_url=upstream.url,
        upstream_timeout="1",
        cors_origins="https://app.example.com",
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def user(make_user: UserFactory) -> User:
    return make_user()


def test_unknown_route_is_404_in_the_envelope(api: httpx.Client) -> None:
    response = api.get("/no/such/route")
    assert_gateway_error(response, 404, "NOT_FOUND")


def test_request_id_is_kept_when_sane_and_replaced_otherwise(api: httpx.Client) -> None:
    kept = api.get("/api/v1/nothing-here", headers={"X-Request-ID": "client-id.42"})
    assert kept.headers["x-request-id"] == "client-id.42"
    assert kept.json()["error"]["correlation_id"] == "client-id.42"
    replaced = api.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert replaced.headers["x-request-id"] != "" and " " not in replaced.headers["x-request-id"]


def test_method_not_allowed_is_405_in_the_envelope(api: httpx.Client) -> None:
    assert_gateway_error(api.delete("/api/v1/auth/login"), 405, "METHOD_NOT_ALLOWED")


def test_body_too_large_is_413(api: httpx.Client, user: User) -> None:
    big = b'{"title": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    proxied = api.post(
        "/api/v1/todos", content=big, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert_gateway_error(proxied, 413, "PAYLOAD_TOO_LARGE")
    local = api.post(
        "/api/v1/auth/register", content=big, headers={"Content-Type": "application/json"}
    )
    assert_gateway_error(local, 413, "PAYLOAD_TOO_LARGE")


def test_chunked_body_over_the_limit_is_413(api: httpx.Client, user: User) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB with no Content-Length

    response = api.post("/api/v1/todos", content=chunks(), headers=user.headers)
    assert_gateway_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("path", ["/api/v1/chat", "/api/v1/contexts/jobs"])
def test_service_not_running_is_503(api: httpx.Client, user: User, path: str) -> None:
    error = assert_gateway_error(api.get(path, headers=user.headers), 503, "SERVICE_UNAVAILABLE")
    assert "unavailable" in error["message"]


def test_slow_upstream_is_504(proxy_gateway: ServiceProcess, user: User) -> None:
    response = httpx.get(f"{proxy_gateway.url}/api/v1/chat/slow", headers=user.headers, timeout=10)
    assert_gateway_error(response, 504, "UPSTREAM_TIMEOUT")


def test_forwarding_sets_and_drops_headers(
    proxy_gateway: ServiceProcess, upstream: RecordingUpstream, user: User
) -> None:
    upstream.requests.clear()
    response = httpx.post(
        f"{proxy_gateway.url}/api/v1/todos/abc/complete?x=1&y=%2F",
        headers={
            **user.headers,
            "X-Request-ID": "trace-123",
            "X-Forwarded-For": "6.6.6.6",
            "Connection": "X-Secret-Hop",
            "X-Secret-Hop": "must not pass",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        },
        json={"k": "v"},
    )
    assert response.status_code == 200
    assert (
        response.headers["x-upstream"] == "yes" and response.headers["x-request-id"] == "trace-123"
    )
    assert "keep-alive" not in response.headers
    seen = upstream.requests[-1]
    assert seen.method == "POST" and seen.path == "/api/v1/todos/abc/complete?x=1&y=%2F"
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["x-request-id"] == "trace-123"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the spoofed value is not believed
    assert headers["authorization"] == user.headers["Authorization"]  # services verify it
    assert "x-secret-hop" not in headers and "proxy-authorization" not in headers
    assert seen.body == b'{"k":"v"}' or seen.body == b'{"k": "v"}'


def test_large_bodies_stream_both_ways(
    proxy_gateway: ServiceProcess, upstream: RecordingUpstream, user: User
) -> None:
    payload = bytes(range(256)) * 3000  # 768 KB, under the 1 MiB limit
    sent = httpx.post(
        f"{proxy_gateway.url}/api/v1/todos/upload", headers=user.headers, content=payload
    )
    assert sent.json() == {"received_bytes": len(payload)}
    assert upstream.requests[-1].body == payload
    received = httpx.get(f"{proxy_gateway.url}/api/v1/todos/big", headers=user.headers)
    assert received.status_code == 200 and len(received.content) == 64 * 65536


def test_cors_preflight_is_answered_by_the_gateway(
    proxy_gateway: ServiceProcess, upstream: RecordingUpstream
) -> None:
    upstream.requests.clear()
    preflight = httpx.options(
        f"{proxy_gateway.url}/api/v1/todos",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = httpx.options(
        f"{proxy_gateway.url}/api/v1/todos",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert_gateway_error(refused, 403, "CORS_REJECTED")
    assert "access-control-allow-origin" not in refused.headers
    assert upstream.requests == []  # never forwarded


def test_a_prefix_is_not_a_match(api: httpx.Client, user: User) -> None:
    assert_gateway_error(api.get("/api/v1/todosXYZ", headers=user.headers), 404, "NOT_FOUND")


def test_health_and_openapi(api: httpx.Client, stack: Stack) -> None:
    for base in (stack.gateway.url, stack.todos.url):
        assert httpx.get(f"{base}/health/live").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["database"] is True
        schema = httpx.get(f"{base}/schema/openapi.json")
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in api.get("/schema/openapi.json").json()["paths"]
