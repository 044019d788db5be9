"""The gateway's public document: merging the services' documents (openapi_merge)."""

from __future__ import annotations

from typing import Any

from services.gateway.openapi_merge import Upstream, merge
from shared.openapi_errors import BEARER, ENVELOPE_REF

TODOS = Upstream("todos", "/api/v1/todos", "http://todos")
CHAT = Upstream("chat", "/api/v1/chat", "http://chat")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(op_id: str, schema: dict[str, Any], *, secured: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": op_id,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
        },
    }
    if secured:
        op["security"] = [{BEARER: []}]
    return op


def document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


OWN = document(
    {"/api/v1/auth/login": {"post": operation("Login", ref("TokenPair"), secured=False)}},
    {"TokenPair": {"type": "object", "title": "TokenPair"}},
)


def test_identical_components_are_shared_and_clashing_ones_renamed() -> None:
    todos = document(
        {
            "/api/v1/todos": {"get": operation("List", ref("Page"))},
            "/health/live": {"get": operation("Live", {"type": "object"})},
        },
        {
            "Page": {"type": "object", "properties": {"items": {"items": ref("Item")}}},
            "Item": {"type": "object", "title": "todo"},
            "Shared": {"type": "string"},
        },
    )
    chat = document(
        {
            "/api/v1/chat": {"post": operation("List", ref("Page"))},
            "/api/v1/chatty": {"get": operation("Other", {"type": "object"})},
            "/api/v1/todos": {"get": operation("Sneaky", {"type": "object"})},
        },
        {
            # Same text as todos' Page, but its Item is another one: renamed too.
            "Page": {"type": "object", "properties": {"items": {"items": ref("Item")}}},
            "Item": {"type": "object", "title": "message"},
            "Shared": {"type": "string"},
        },
    )
    merged = merge(OWN, [(TODOS, todos), (CHAT, chat)])

    assert set(merged["paths"]) == {"/api/v1/auth/login", "/api/v1/todos", "/api/v1/chat"}
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"TokenPair", "Page", "Item", "Shared", "ChatPage", "ChatItem"}
    assert schemas["ChatItem"]["title"] == "message"
    assert schemas["ChatPage"]["properties"]["items"]["items"] == ref("ChatItem")
    assert schemas["Page"]["properties"]["items"]["items"] == ref("Item")
    chat_op = merged["paths"]["/api/v1/chat"]["post"]
    assert chat_op["responses"]["200"]["content"]["application/json"]["schema"] == ref("ChatPage")
    # The todos document's own operation, not chat's stray copy of its path.
    assert merged["paths"]["/api/v1/todos"]["get"]["operationId"] == "List"
    assert chat_op["operationId"] == "ChatList"


def test_forwarded_operations_document_the_gateway_errors() -> None:
    todos = document(
        {
            "/api/v1/todos": {
                "post": {
                    **operation("Create", {"type": "object"}),
                    "requestBody": {"content": {"application/json": {"schema": {}}}},
                    "responses": {
                        "503": {
                            "description": "x",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": ENVELOPE_REF},
                                    "examples": {
                                        "SERVICE_UNAVAILABLE": {"summary": "Database", "value": {}}
                                    },
                                }
                            },
                        }
                    },
                }
            }
        },
        {},
    )
    merged = merge(OWN, [(TODOS, todos)])
    responses = merged["paths"]["/api/v1/todos"]["post"]["responses"]
    assert {"401", "413", "429", "502", "503", "504"} <= set(responses)
    for status in ("401", "413", "429", "502", "503", "504"):
        media = responses[status]["content"]["application/json"]
        assert media["schema"] == {"$ref": ENVELOPE_REF}
    assert (
        "`UPSTREAM_TIMEOUT`: The todos service did not answer in time"
        in (responses["504"]["description"])
    )
    assert "`BAD_GATEWAY`" in responses["502"]["description"]
    # The service's own 503 example is kept; the code is described once.
    assert responses["503"]["content"]["application/json"]["examples"]["SERVICE_UNAVAILABLE"] == {
        "summary": "Database",
        "value": {},
    }
    assert responses["503"]["description"].count("SERVICE_UNAVAILABLE") == 1
    # The gateway's own operation is left as it was.
    assert merged["paths"]["/api/v1/auth/login"] == OWN["paths"]["/api/v1/auth/login"]
