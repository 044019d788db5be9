"""The error envelope of docs/design.md §3 (``{"error": {"code", "message", "details",
"correlation_id", "timestamp"}}``), checked on an answer through the gateway."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx


def moment(value: str) -> datetime:
    """An RFC 3339 timestamp from a response, which must carry its time zone."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


def assert_error(response: httpx.Response, status: int, code: str | None) -> dict[str, Any]:
    """Check the docs/design.md §3 error envelope (and ``code`` unless None); return ``error``."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["correlation_id"] == response.headers["X-Request-ID"]
    moment(error["timestamp"])
    return error


def assert_validation_error(response: httpx.Response, field: str) -> None:
    """A 400 VALIDATION_ERROR that names the failing ``field`` in its details."""
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert field in json.dumps(error.get("details")), error


def assert_gateway_error(response: httpx.Response, status: int, code: str) -> dict:
    """The envelope as the auth and gateway tests check it: ``code`` always, and the
    timestamp in UTC written with a ``Z`` (the message is not checked)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["correlation_id"] == response.headers["x-request-id"]
    assert error["timestamp"].endswith("Z")
    return error
