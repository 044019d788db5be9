"""Every service's OpenAPI document tells the truth about errors (shared.openapi).

The apps are built by each service's ``create_app`` exactly as granian builds them, and
their documents read over HTTP with Litestar's TestClient (no lifespan: nothing connects
to a database or a broker). Each error response must be the ``ErrorEnvelope`` — never
Litestar's default ``{status_code, detail, extra}`` — and each operation must document the
errors it can give.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from shared.openapi_errors import BEARER, ENVELOPE, ENVELOPE_REF
from shared.tokens import generate_key_pair

SERVICES = ("gateway", "todos", "chat", "contexts")
# Where each app serves the document of its own routes (the gateway's /schema is the
# merged public document, see services.gateway.openapi_merge).
OWN_DOCUMENT = {
    "gateway": "/schema/gateway/openapi.json",
    "todos": "/schema/openapi.json",
    "chat": "/schema/openapi.json",
    "contexts": "/schema/openapi.json",
}
PUBLIC = {
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/.well-known/oauth-protected-resource/mcp",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# Every operation and exactly the error statuses it documents.
T, J = "/api/v1/todos/{todo_id}", "/api/v1/contexts/jobs/{job_id}"
C = "/api/v1/chat/conversations/{conversation_id}"
EXPECTED: dict[tuple[str, str, str], set[int]] = {
    ("gateway", "POST", "/api/v1/auth/register"): {400, 409, 413, 429, 503},
    ("gateway", "POST", "/api/v1/auth/login"): {400, 401, 413, 429, 503},
    ("gateway", "POST", "/api/v1/auth/refresh"): {400, 401, 413, 429, 503},
    ("gateway", "POST", "/api/v1/auth/logout"): {400, 401, 413, 429, 503},
    ("gateway", "GET", "/api/v1/auth/me"): {401, 404, 429, 503},
    ("gateway", "GET", "/api/v1/events"): {401, 429, 503},
    ("gateway", "POST", "/api/v1/auth/tokens"): {400, 401, 403, 409, 413, 429, 503},
    ("gateway", "GET", "/api/v1/auth/tokens"): {401, 403, 429, 503},
    ("gateway", "DELETE", "/api/v1/auth/tokens/{token_id}"): {400, 401, 403, 404, 429, 503},
    ("gateway", "GET", "/.well-known/oauth-protected-resource/mcp"): {429, 503},
    ("todos", "POST", "/api/v1/todos"): {400, 401, 403, 413, 503},
    ("todos", "GET", "/api/v1/todos"): {400, 401, 403, 503},
    ("todos", "GET", T): {400, 401, 403, 404, 503},
    ("todos", "PATCH", T): {400, 401, 403, 404, 412, 413, 503},
    ("todos", "DELETE", T): {400, 401, 403, 404, 412, 503},
    ("todos", "POST", T + "/complete"): {400, 401, 403, 404, 412, 503},
    ("todos", "POST", T + "/reopen"): {400, 401, 403, 404, 412, 503},
    ("todos", "POST", T + "/skip"): {400, 401, 403, 404, 412, 503},
    ("todos", "POST", T + "/restore"): {400, 401, 403, 404, 503},
    ("chat", "POST", "/api/v1/chat"): {400, 401, 403, 404, 413, 502, 503},
    ("chat", "GET", "/api/v1/chat/conversations"): {400, 401, 403, 503},
    ("chat", "GET", C): {400, 401, 403, 404, 503},
    ("chat", "PATCH", C): {400, 401, 403, 404, 413, 503},
    ("chat", "DELETE", C): {400, 401, 403, 404, 503},
    ("contexts", "POST", "/api/v1/contexts/jobs"): {400, 401, 403, 413, 503},
    ("contexts", "GET", "/api/v1/contexts/jobs"): {400, 401, 403, 503},
    ("contexts", "GET", J): {400, 401, 403, 404, 503},
    ("contexts", "POST", J + "/retry"): {400, 401, 403, 404, 409, 503},
    ("contexts", "GET", J + "/summary"): {400, 401, 403, 404, 503},
    ("contexts", "GET", J + "/contexts"): {400, 401, 403, 404, 503},
    ("contexts", "GET", J + "/contexts/{task_id}"): {400, 401, 403, 404, 503},
    ("contexts", "GET", J + "/registry"): {400, 401, 403, 404, 503},
    ("contexts", "GET", J + "/archive"): {400, 401, 403, 404, 503},
    ("contexts", "GET", J + "/events"): {400, 401, 403, 404, 503},
}


@pytest.fixture(scope="module")
def documents() -> Iterator[dict[str, dict[str, Any]]]:
    private, public = generate_key_pair()
    env = {
        "JWT_PUBLIC_KEY": public.decode(),
        "JWT_PRIVATE_KEY": private.decode(),
        "LOG_LEVEL": "WARNING",
    }
    found: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        for service in SERVICES:
            app = importlib.import_module(f"services.{service}.app").create_app()
            response = TestClient(app=app).get(OWN_DOCUMENT[service])
            assert response.status_code == 200, response.text
            found[service] = response.json()
    yield found


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def error_statuses(operation: dict[str, Any]) -> set[int]:
    return {int(s) for s in operation["responses"] if s.isdigit() and int(s) >= 400}


def test_every_operation_is_known(documents: dict[str, dict[str, Any]]) -> None:
    found = {
        (service, method, path)
        for service, document in documents.items()
        for method, path, _ in operations(document)
    }
    assert found == set(EXPECTED)


def test_every_error_response_is_the_envelope(documents: dict[str, dict[str, Any]]) -> None:
    for service, document in documents.items():
        envelope = document["components"]["schemas"][ENVELOPE]
        assert envelope["required"] == ["error"]
        error = envelope["properties"]["error"]
        assert set(error["required"]) == {
            "code",
            "message",
            "details",
            "correlation_id",
            "timestamp",
        }
        assert error["properties"]["timestamp"] == {"type": "string", "format": "date-time"}
        assert error["properties"]["details"]["type"] == "object"
        for method, path, operation in operations(document):
            for status in error_statuses(operation):
                response = operation["responses"][str(status)]
                where = f"{service} {method} {path} {status}"
                assert set(response["content"]) == {"application/json"}, where
                media = response["content"]["application/json"]
                assert media["schema"] == {"$ref": ENVELOPE_REF}, where
                # Every code the description names has an example in the envelope.
                for code, example in media["examples"].items():
                    assert f"`{code}`" in response["description"], where
                    assert example["value"]["error"]["code"] == code, where
                assert "status_code" not in str(response) and "detail'" not in str(response)


def test_every_operation_documents_its_errors(documents: dict[str, dict[str, Any]]) -> None:
    for service, document in documents.items():
        for method, path, operation in operations(document):
            where = f"{service} {method} {path}"
            assert operation.get("summary"), where
            assert error_statuses(operation) == EXPECTED[(service, method, path)], where


def test_rules_hold_for_every_operation(documents: dict[str, dict[str, Any]]) -> None:
    """The rules behind the table, so that a new operation cannot miss them."""
    for service, document in documents.items():
        schemes = document["components"]["securitySchemes"]
        assert schemes[BEARER] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes[BEARER]["description"],
        }
        for method, path, operation in operations(document):
            where = f"{service} {method} {path}"
            statuses = error_statuses(operation)
            if operation.get("parameters") or "requestBody" in operation:
                assert 400 in statuses, where
            if path in PUBLIC:
                assert "security" not in operation, where
            else:
                assert 401 in statuses, where
                assert operation["security"] == [{BEARER: []}], where
            if "{" in path:
                assert 404 in statuses, where
            if "requestBody" in operation:
                assert 413 in statuses, where
            if any(p["name"] == "if-match" for p in operation.get("parameters", [])):
                assert 412 in statuses, where
            if service == "gateway":
                assert 429 in statuses, where
            if service != "gateway":  # every service path needs a scope (shared.scopes)
                examples = operation["responses"]["403"]["content"]["application/json"]
                assert "INSUFFICIENT_SCOPE" in examples["examples"], where
            assert 503 in statuses, where  # every operation uses the database or a broker


def test_success_responses_name_their_real_content(
    documents: dict[str, dict[str, Any]],
) -> None:
    def content(service: str, path: str, status: str = "200") -> dict[str, Any]:
        responses = documents[service]["paths"][path]["get"]["responses"]
        return responses[status].get("content", {})

    assert set(content("gateway", "/api/v1/events")) == {"text/event-stream"}
    assert set(content("contexts", J + "/events")) == {"text/event-stream"}
    assert content("contexts", J + "/events", "204") == {}
    assert set(content("contexts", J + "/archive")) == {"application/gzip"}
    assert content("contexts", J + "/registry")["application/json"]["schema"]["type"] == "object"
    assert "304" in documents["todos"]["paths"][T]["get"]["responses"]
    chat = documents["chat"]["paths"]["/api/v1/chat"]["post"]["responses"]["200"]
    assert chat["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatResponse"
    }


def test_request_bodies_refuse_unknown_fields_as_documented(
    documents: dict[str, dict[str, Any]],
) -> None:
    """The body Structs refuse unknown fields (400): their schemas say so."""
    for service, document in documents.items():
        schemas = document["components"]["schemas"]
        for method, path, operation in operations(document):
            if "requestBody" not in operation:
                continue
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schemas[ref.rsplit("/", 1)[1]]
            assert body["additionalProperties"] is False, f"{service} {method} {path}"
    assert (
        documents["contexts"]["components"]["schemas"]["JobOptions"]["additionalProperties"]
        is False
    )  # nested in JobRequest
