"""The gateway as the ``contexts`` CLI sees it: login, jobs, their events and results.

Every failure becomes a :class:`CliError` whose message a user can act on (wrong
password, unreachable gateway, contexts service not running, a registry problem and
where it is); the CLI prints it and exits with its code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

USAGE_ERROR = 2  # exit code: bad usage, credentials, input or connection
# How a personal access token starts (docs/design.md §2); the gateway takes one in place of
# an access token.
PERSONAL_TOKEN_PREFIX = "tdp_"  # noqa: S105 - the marker of the format, not a secret
JOBS = "/api/v1/contexts/jobs"


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = USAGE_ERROR) -> None:
        self.message = message
        self.exit_code = exit_code
        super().__init__(message)


@dataclass
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None


class SseParser:
    """Incremental parser of a ``text/event-stream`` (the WHATWG rules we need)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line (without its end); return the event a blank line completes."""
        if not line:
            if not self._data and not self._event:
                return None
            done = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return done
        if line.startswith(":"):
            return None  # a comment (heartbeat)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


class Gateway:
    """An authenticated client of the gateway's contexts API."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self.token: str | None = None
        # Kept to log in again when the access token expires during a long job (15 min).
        self._credentials: tuple[str, str] | None = None

    async def close(self) -> None:
        await self.client.aclose()

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def login(self, email: str, password: str) -> str:
        response = await self._request(
            "POST", "/api/v1/auth/login", json={"email": email, "password": password}
        )
        if response.status_code == 401:
            raise CliError(f"login refused for {email}: wrong email or password")
        body = self._expect(response, 200, "login")
        self.token = str(body["access_token"])
        self._credentials = (email, password)
        return self.token

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", JOBS, json=body)
        return self._expect(response, 202, "job submission")

    async def job(self, job_id: uuid.UUID | str) -> dict[str, Any]:
        response = await self._send("GET", f"{JOBS}/{job_id}")
        return self._expect(response, 200, "job status")

    async def summary(self, job_id: uuid.UUID | str) -> str:
        response = await self._send("GET", f"{JOBS}/{job_id}/summary")
        self._expect(response, 200, "summary", json_body=False)
        return response.text

    async def archive(self, job_id: uuid.UUID | str) -> bytes | None:
        """The job's ``.tar.gz``, or None when the service does not offer it."""
        response = await self._send("GET", f"{JOBS}/{job_id}/archive")
        if response.status_code != 200:
            return None
        return response.content

    async def contexts(self, job_id: uuid.UUID | str) -> list[dict[str, Any]]:
        response = await self._send("GET", f"{JOBS}/{job_id}/contexts")
        body = self._expect(response, 200, "context list")
        items = body.get("items", body) if isinstance(body, dict) else body
        return [item for item in items if isinstance(item, dict)]

    async def context(self, job_id: uuid.UUID | str, task_id: str) -> str:
        path = f"{JOBS}/{job_id}/contexts/{quote(task_id, safe='')}"
        response = await self._send("GET", path)
        self._expect(response, 200, f"context of {task_id}", json_body=False)
        return response.text

    async def registry(self, job_id: uuid.UUID | str) -> str:
        response = await self._send("GET", f"{JOBS}/{job_id}/registry")
        self._expect(response, 200, "updated registry", json_body=False)
        return response.text

    async def events(self, job_id: uuid.UUID | str) -> AsyncIterator[ServerSentEvent]:
        """The job's Server-Sent Events until the server ends the stream."""
        parser = SseParser()
        headers = {**self._auth, "Accept": "text/event-stream"}
        timeout = httpx.Timeout(30.0, read=None)  # quiet stretches are normal
        try:
            async with self.client.stream(
                "GET", f"{JOBS}/{job_id}/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    self._expect(response, 200, "progress events", json_body=False)
                async for line in response.aiter_lines():
                    event = parser.feed(line.rstrip("\r"))
                    if event is not None:
                        yield event
        except httpx.HTTPError as exc:
            raise CliError(f"lost the progress stream from {self.base_url}: {exc}") from exc

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authenticated request; an expired token is renewed once by logging in again."""
        response = await self._request(method, path, headers=self._auth, **kwargs)
        if response.status_code == 401 and self._credentials is not None:
            await self.login(*self._credentials)
            response = await self._request(method, path, headers=self._auth, **kwargs)
        return response

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CliError(f"the gateway at {self.base_url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the gateway at {self.base_url}: {exc}") from exc

    def _expect(
        self, response: httpx.Response, status: int, what: str, *, json_body: bool = True
    ) -> Any:
        if response.status_code == status:
            return response.json() if json_body else None
        raise CliError(f"{what} failed: {describe_error(response)}")


def describe_error(response: httpx.Response) -> str:
    """One line from an error answer: status, code, message and where the problem is."""
    try:
        error = response.json()["error"]
        text = f"{response.status_code} {error['code']}: {error['message']}"
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}"
    if isinstance(details, dict) and details.get("where"):
        text += f" (at {details['where']})"
    if response.status_code == 401:
        text += " - check --token, or --email and --password"
    elif error.get("code") == "INSUFFICIENT_SCOPE":
        text += " - the personal access token needs the contexts scope"
    elif response.status_code == 413:
        text += " - the gateway limits job bodies (CONTEXTS_MAX_BODY_BYTES); try --via amqp"
    elif response.status_code == 503:
        text += " - is the contexts service running?"
    return text
