"""Domain errors and the one place that renders every error in the envelope (docs/design.md §3).

Services raise the errors below; they never build error responses by hand. Litestar's own
exceptions (validation, 404 route, 405, 413, 429) and unexpected exceptions go through
the same renderer, so a client always sees the same shape and never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Send
from sqlalchemy.exc import DBAPIError

from shared.logging import request_id_var

logger = logging.getLogger("errors")


class AppError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"
    message = "Internal server error"
    # The request's unit of work rolls back when a handler raises, unless the error says
    # that what was done before it must stay (see shared.platform.database).
    keeps_changes = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(AppError):
    status_code, code, message = 400, "VALIDATION_ERROR", "Request validation failed"


Source = Literal["query", "header", "path", "body"]


def invalid(
    key: str, message: str, *, source: Source = "query", where: str | None = None
) -> ValidationFailed:
    """The one invalid-input error: a 400 naming the request field ``key`` in
    ``details.fields``, shaped like the framework's own validation errors.

    ``where`` is the exact place of the problem inside that field (a path into a job's
    registry: ``$.tasks[3].title``); it heads the message and is ``details.where`` too.
    """
    field = {"key": key, "message": message, "source": source}
    if where is None:
        return ValidationFailed(f"Invalid {key}: {message}", details={"fields": [field]})
    details = {"where": where, "message": message, "fields": [field]}
    return ValidationFailed(f"{where}: {message}", details=details)


class Unauthorized(AppError):
    status_code, code, message = 401, "UNAUTHORIZED", "Missing or invalid access token"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class InsufficientScope(AppError):
    """A valid token whose scopes do not cover the request (RFC 6750's insufficient_scope)."""

    status_code, code, message = 403, "INSUFFICIENT_SCOPE", "The token lacks the scope needed"

    def __init__(self, needed: list[str]) -> None:
        wanted = " ".join(needed)
        which = needed[0] if len(needed) == 1 else "one of " + ", ".join(needed)
        super().__init__(
            f"This token lacks the scope this request needs: {which}",
            details={"required_scopes": needed},
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{wanted}"'},
        )


class InvalidCredentials(AppError):
    status_code, code, message = 401, "INVALID_CREDENTIALS", "Invalid email or password"


class InvalidRefreshToken(AppError):
    status_code, code, message = 401, "INVALID_REFRESH_TOKEN", "Invalid or expired refresh token"


class ReusedRefreshToken(InvalidRefreshToken):
    """A refresh token used twice: refused, and its revoked family stays revoked."""

    keeps_changes = True


class NotFound(AppError):
    status_code, code, message = 404, "NOT_FOUND", "Resource not found"


class Conflict(AppError):
    status_code, code, message = 409, "CONFLICT", "Conflict"


class EmailTaken(Conflict):
    code, message = "EMAIL_TAKEN", "An account with this email already exists"


class VersionConflict(AppError):
    status_code, code, message = 412, "VERSION_CONFLICT", "The resource was changed meanwhile"


class PayloadTooLarge(AppError):
    status_code, code, message = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class RateLimited(AppError):
    status_code, code, message = 429, "RATE_LIMITED", "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            message,
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class CorsRejected(AppError):
    status_code, code, message = 403, "CORS_REJECTED", "Cross-origin request refused"


class ServiceUnavailable(AppError):
    status_code, code, message = 503, "SERVICE_UNAVAILABLE", "Service unavailable"


class UpstreamTimeout(AppError):
    status_code, code, message = 504, "UPSTREAM_TIMEOUT", "Upstream service timed out"


# Status -> code for errors raised by the framework rather than by us.
_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "UPSTREAM_TIMEOUT",
}

_encoder = msgspec.json.Encoder()


def error_body(status: int, code: str, message: str, details: dict[str, Any] | None) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _encoder.encode(
        {
            "error": {
                "code": code,
                "message": message,
                "details": details or {},
                "correlation_id": request_id_var.get(),
                "timestamp": now,
            }
        }
    )


def describe(exc: Exception) -> tuple[int, str, str, dict[str, Any], dict[str, str]]:
    """(status, code, message, details, headers) for any exception."""
    if isinstance(exc, AppError):
        return exc.status_code, exc.code, exc.message, exc.details, exc.headers
    if isinstance(exc, ValidationException):
        fields = [
            {k: v for k, v in item.items() if k in ("key", "message", "source")}
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict)
        ]
        return 400, "VALIDATION_ERROR", _clean(exc.detail), {"fields": fields}, {}
    if isinstance(exc, RecursionError):
        # A JSON body nested deeper than the decoder's recursion limit (e.g. 5,000 "["):
        # the client's input, not our failure.
        return describe(invalid("body", "is nested too deeply", source="body"))
    if _is_database_outage(exc):
        logger.error("database unavailable: %s", exc.__class__.__name__)
        return 503, "SERVICE_UNAVAILABLE", "Database unavailable, try again shortly", {}, {}
    if isinstance(exc, HTTPException):
        status = exc.status_code
        headers = dict(exc.headers or {})
        message = _clean(exc.detail) if status < 500 else HTTPStatus(status).phrase
        return status, _CODES.get(status, HTTPStatus(status).name), message, {}, headers
    logger.error("unhandled exception", exc_info=exc)
    return 500, "INTERNAL_ERROR", "Internal server error", {}, {}


def _is_database_outage(exc: Exception) -> bool:
    """A lost or refused database connection (not a bad query)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, DBAPIError):
        exc = exc.orig or exc
    return isinstance(
        exc,
        OSError
        | asyncio.TimeoutError
        | asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.InterfaceError  # e.g. "connection is closed"
        | asyncpg.exceptions.InternalClientError  # protocol state broken by a lost link
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.AdminShutdownError,
    )


def _clean(detail: str) -> str:
    # Litestar details are safe, human readable sentences; keep them short.
    return detail[:500] if detail else "Error"


def exception_to_response(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    status, code, message, details, headers = describe(exc)
    return Response(
        content=error_body(status, code, message, details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def send_error(send: Send, exc: AppError, *, close: bool = False) -> None:
    """Answer in the envelope from a raw ASGI layer (outside Litestar's handlers)."""
    body = error_body(exc.status_code, exc.code, exc.message, exc.details)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


EXCEPTION_HANDLERS = {Exception: exception_to_response}
