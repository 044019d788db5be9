"""The access log: one JSON line per request, with the id the response carries."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logging import access_log, configure_logging
from shared.request_id import RequestIdMiddleware


async def answer_teapot(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"short and stout"})


async def call(app, request_id: bytes) -> list[dict]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/teapot",
        "headers": [(b"x-request-id", request_id)],
    }
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, None, send)
    return sent


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    logging.getLogger().handlers.clear()
    access_log.stream = None


async def test_each_request_writes_one_json_line_with_its_id(capsys) -> None:
    configure_logging("teapots", "INFO")
    sent = await call(RequestIdMiddleware(answer_teapot), b"req-42")
    assert (b"x-request-id", b"req-42") in sent[0]["headers"]
    [line] = capsys.readouterr().out.splitlines()
    entry = json.loads(line)
    assert entry["service"] == "teapots" and entry["logger"] == "access"
    assert entry["level"] == "info" and entry["msg"] == "GET /api/v1/teapot 418"
    assert entry["request_id"] == "req-42" and entry["status"] == 418
    assert entry["duration_ms"] >= 0 and entry["ts"].endswith("Z")


async def test_no_access_lines_above_info(capsys) -> None:
    configure_logging("teapots", "WARNING")
    await call(RequestIdMiddleware(answer_teapot), b"req-43")
    assert capsys.readouterr().out == ""
