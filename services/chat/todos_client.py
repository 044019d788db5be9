"""The todos service as the tools see it: HTTP calls made as the caller.

One pooled aiohttp session per process (opened and closed by the app's lifespan) serves
every request. Each call forwards the caller's ``Authorization`` header, so the todos
service applies its own per-user isolation, and the request's ``X-Request-ID``, so one id
follows a turn through both services' logs. An unreachable todos service is a 503, a slow
one a 504: the chat turn fails with the dependency's status, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec

from shared.errors import ServiceUnavailable, UpstreamTimeout
from shared.logging import request_id_var

logger = logging.getLogger("chat.todos_client")
TODOS = "/api/v1/todos"


class TodosAnswer(msgspec.Struct):
    status: int
    body: Any  # the decoded JSON body (None when empty)


def create_session(timeout: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit_per_host=64, keepalive_timeout=15),
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0)),
    )


class TodosClient:
    """Calls to the todos API on behalf of one caller (their ``Authorization`` header)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, authorization: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.authorization = authorization

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> TodosAnswer:
        headers = {"Authorization": self.authorization, "X-Request-ID": request_id_var.get()}
        url = f"{self.base_url}{TODOS}{path}"
        try:
            async with self.session.request(
                method, url, params=params, json=json, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            logger.warning("todos service unreachable: %r", exc)
            raise ServiceUnavailable("The todos service is unavailable") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            logger.warning("todos service timed out")
            raise UpstreamTimeout("The todos service did not answer in time") from exc
        except aiohttp.ClientError as exc:
            logger.warning("todos service failed: %r", exc)
            raise ServiceUnavailable("The todos service is unavailable") from exc
        if status == 504:
            raise UpstreamTimeout("The todos service did not answer in time")
        if status >= 500:
            logger.warning("todos service answered %s", status)
            raise ServiceUnavailable("The todos service is unavailable")
        try:
            body = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError as exc:
            raise ServiceUnavailable("The todos service answered badly") from exc
        return TodosAnswer(status, body)
