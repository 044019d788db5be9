"""Refused CORS preflights in the error envelope.

Litestar's CORS layer answers every preflight itself (so none is ever forwarded), but a
refused one comes back as plain text. This thin wrapper, outside that layer, turns such an
answer into the docs/design.md §3 envelope: 403 ``CORS_REJECTED`` with Litestar's reason.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import CorsRejected, send_error


class CorsRefusalEnvelope:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "OPTIONS"  # type: ignore[typeddict-item]
            or not any(name == b"origin" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        refused = False
        reason = b""

        async def rewrite(message: Message) -> None:
            nonlocal refused, reason
            if message["type"] == "http.response.start" and message["status"] >= 400:
                refused = True
                return
            if not refused:
                await send(message)
                return
            reason += message.get("body", b"")  # type: ignore[operator]
            if message.get("more_body", False):
                return
            await send_error(send, CorsRejected(reason.decode(errors="replace")[:200]))

        await self.app(scope, receive, rewrite)
