"""Correlation ids: ``X-Request-ID`` in, out, in every log line, and forwarded upstream.

A pure ASGI middleware (the cheapest kind) that also writes one access-log line per
request, so the log line and the response carry the same id, and counts the request in
the HTTP metrics (route template from Litestar's routing, which fills in the same scope).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from typing import cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from shared.logging import access_log, request_id_var
from shared.metrics import observe_request, request_started

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


def incoming_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == HEADER and _SANE.match(value):
            return value.decode()
    return os.urandom(16).hex()  # as unique as a uuid4's hex, without building a UUID


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        http_scope = cast(HTTPScope, scope)
        method, path = http_scope["method"], http_scope["path"]  # routing rewrites "path"
        request_id = incoming_request_id(http_scope["headers"])
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        answered_after: float | None = None
        status = 500
        encoded = request_id.encode()
        request_started()

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered_after
            if message["type"] == "http.response.start":
                status = message["status"]
                answered_after = time.perf_counter() - started
                headers = [h for h in message.get("headers", ()) if h[0].lower() != HEADER]
                headers.append((HEADER, encoded))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = cast(str | None, scope.get("path_template"))
            latency = elapsed if answered_after is None else answered_after
            observe_request(method, route, status, latency)
            access_log.write(method, path, status, round(elapsed * 1000, 2))
            request_id_var.reset(token)
