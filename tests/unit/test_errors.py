from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.exceptions import MethodNotAllowedException, ValidationException
from litestar.params import JSONBody
from litestar.testing import TestClient

from shared.errors import (
    EXCEPTION_HANDLERS,
    RateLimited,
    VersionConflict,
    describe,
    error_body,
)
from shared.logging import request_id_var


def test_envelope_carries_the_request_id() -> None:
    token = request_id_var.set("req-1")
    try:
        body = json.loads(error_body(412, "VERSION_CONFLICT", "changed", {"version": 3}))
    finally:
        request_id_var.reset(token)
    error = body["error"]
    assert error["correlation_id"] == "req-1" and error["details"] == {"version": 3}
    assert error["timestamp"].endswith("Z")


def test_domain_and_framework_errors_map_to_status_and_code() -> None:
    assert describe(VersionConflict())[:2] == (412, "VERSION_CONFLICT")
    status, code, _, details, headers = describe(RateLimited(retry_after=30))
    assert (status, code, headers["Retry-After"], details["retry_after"]) == (
        429,
        "RATE_LIMITED",
        "30",
        30,
    )
    assert describe(MethodNotAllowedException())[:2] == (405, "METHOD_NOT_ALLOWED")
    validation = ValidationException(
        extra=[{"key": "title", "message": "too long", "source": "body"}]
    )
    status, code, _, details, _ = describe(validation)
    assert (status, code) == (400, "VALIDATION_ERROR") and details["fields"][0]["key"] == "title"


def test_unexpected_errors_hide_their_details() -> None:
    status, code, message, details, _ = describe(RuntimeError("password=hunter2 at line 3"))
    assert (status, code, message, details) == (500, "INTERNAL_ERROR", "Internal server error", {})


def test_a_lost_database_connection_is_503_not_500() -> None:
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    refused = ConnectionRefusedError(111, "Connection refused")
    assert describe(refused)[:2] == (503, "SERVICE_UNAVAILABLE")
    wrapped = DBAPIError("SELECT 1", {}, asyncpg.exceptions.ConnectionDoesNotExistError("gone"))
    assert describe(wrapped)[:2] == (503, "SERVICE_UNAVAILABLE")
    # A bad query is our bug, not an outage.
    bad_query = DBAPIError("SELEC", {}, asyncpg.exceptions.PostgresSyntaxError("syntax"))
    assert describe(bad_query)[:2] == (500, "INTERNAL_ERROR")


def test_a_too_deeply_nested_json_body_is_a_400() -> None:
    with pytest.raises(RecursionError) as raised:
        msgspec.json.decode(b"[" * 5_000 + b"]" * 5_000)
    status, code, message, _, _ = describe(raised.value)
    assert (status, code) == (400, "VALIDATION_ERROR") and "nested" in message


def test_a_service_answers_a_too_deeply_nested_body_with_400_in_the_envelope() -> None:
    @post("/items")
    async def create(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        return data

    app = Litestar([create], exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.post(
            "/items",
            content=b'{"registry": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
