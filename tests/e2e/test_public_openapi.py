"""The gateway's one document for the whole public API, built from the running services.

``full_stack``: a gateway in front of todos, chat and contexts (real processes). Its
``/schema/openapi.json`` must hold every operation each service documents (and nothing the
gateway does not forward), envelope errors and the bearer scheme; a service that is down
when the document is first built appears once it answers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from shared.openapi_errors import BEARER, ENVELOPE, ENVELOPE_REF
from tests.support.full_stack import FullStack
from tests.support.processes import ServiceProcess
from tests.support.stack import Stack
from tests.support.tcp_proxy import TcpProxy

DOCUMENT = "/schema/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/.well-known/oauth-protected-resource/mcp",
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): item[method]
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    }


def fetch(url: str) -> dict[str, Any]:
    response = httpx.get(url + DOCUMENT, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    document: dict[str, Any] = response.json()
    return document


def test_the_public_document_has_every_service(full_stack: FullStack) -> None:
    merged = fetch(full_stack.url)
    assert merged["openapi"].startswith("3.1")
    assert merged["info"]["title"] == "Todo platform API"
    assert "Not reachable" not in merged["info"]["description"]
    assert [server["url"] for server in merged["servers"]] == ["/"]
    public_ops = operations(merged)

    own = httpx.get(full_stack.url + "/schema/gateway/openapi.json", timeout=10).json()
    services = {
        "todos": full_stack.gateway.env["TODOS_URL"],
        "chat": full_stack.chat.url,
        "contexts": full_stack.contexts.url,
    }
    expected = set(operations(own))
    for name, url in services.items():
        service_ops = operations(fetch(url))
        assert service_ops, name
        for key, operation in service_ops.items():
            assert key[1].startswith(f"/api/v1/{name}"), key
            assert public_ops[key]["summary"] == operation["summary"], key
        expected |= set(service_ops)
    assert set(public_ops) == expected
    assert ("POST", "/api/v1/auth/login") in public_ops
    assert ("GET", "/api/v1/events") in public_ops
    assert ("POST", "/api/v1/auth/tokens") in public_ops
    assert ("GET", "/.well-known/oauth-protected-resource/mcp") in public_ops
    assert not any(path.startswith(("/health", "/metrics", "/schema")) for _, path in public_ops)

    components = merged["components"]
    assert components["securitySchemes"][BEARER]["scheme"] == "bearer"
    assert components["schemas"][ENVELOPE]["required"] == ["error"]
    for (method, path), operation in public_ops.items():
        where = f"{method} {path}"
        statuses = {s for s in operation["responses"] if s.isdigit() and int(s) >= 400}
        for status in statuses:
            media = operation["responses"][status]["content"]["application/json"]
            assert media["schema"] == {"$ref": ENVELOPE_REF}, where
        assert "429" in statuses, where
        if path in PUBLIC:
            assert "security" not in operation, where
        else:
            assert operation["security"] == [{BEARER: []}], where
            assert "401" in statuses, where
        forwarded = not path.startswith(("/api/v1/auth", "/api/v1/events", "/.well-known"))
        if forwarded:
            assert {"502", "503", "504"} <= statuses, where
    # Every $ref points at a component of the merged document.
    text = str(merged)
    for kind, items in components.items():
        for name in items:
            text = text.replace(f"'#/components/{kind}/{name}'", "")
    assert "#/components/" not in text

    page = httpx.get(full_stack.url + "/schema", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "redoc" in page.text.lower() and "/api/v1/chat/conversations" in page.text


def test_a_service_down_at_first_fetch_appears_once_it_is_up(
    stack: Stack, started: list[ServiceProcess]
) -> None:
    with TcpProxy(stack.todos.port) as proxy:
        proxy.cut()
        gateway = stack.start_gateway(todos_url=f"http://127.0.0.1:{proxy.port}")
        started.append(gateway)

        first = fetch(gateway.url)
        assert "/api/v1/auth/login" in first["paths"]  # the gateway's own part, always
        assert not any(path.startswith("/api/v1/todos") for path in first["paths"])
        assert "todos" in first["info"]["description"].split("Not reachable")[1]

        proxy.restore()
        again = fetch(gateway.url)
        assert "/api/v1/todos" in again["paths"]
        assert "/api/v1/todos/{todo_id}" in again["paths"]
        # Chat and contexts do not run behind this gateway: still missing.
        missing = again["info"]["description"].split("Not reachable")[1]
        assert "todos" not in missing and "chat" in missing

        # Kept once fetched: more requests, concurrent ones too, do not fetch it again.
        fetches = stack.todos.log().count("GET /schema/openapi.json 200")
        assert fetches >= 1  # the fetch above, as the todos service logged it
        with ThreadPoolExecutor(5) as pool:
            documents = list(pool.map(lambda _: fetch(gateway.url), range(5)))
        assert all(document == again for document in documents)
        assert stack.todos.log().count("GET /schema/openapi.json 200") == fetches
