"""Refuse a request whose declared body is over the limit — after reading it.

Answering 413 while the client is still uploading and then closing the connection makes
many clients (httpx among them) report "server disconnected" instead of the 413. So a
declared-too-large body is read and discarded (up to ``drain_cap`` bytes) before the 413
is sent in the error envelope. Bodies without a Content-Length are counted where they are
read (Litestar for local routes, the gateway's proxy for forwarded ones).
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from shared.errors import PayloadTooLarge, send_error

DRAIN_CAP = 16 * 1024 * 1024


class DeclaredBodyLimit:
    def __init__(self, app: ASGIApp, limit: int, drain_cap: int = DRAIN_CAP) -> None:
        self.app = app
        self.limit = limit
        self.drain_cap = drain_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
            if declared.isdigit() and int(declared) > self.limit:
                if int(declared) <= self.drain_cap:
                    await _drain(receive)
                too_large = PayloadTooLarge(details={"limit_bytes": self.limit})
                await send_error(send, too_large, close=True)
                return
        await self.app(scope, receive, send)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
