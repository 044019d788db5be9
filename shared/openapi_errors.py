"""The error envelope as an OpenAPI document states it: one ``ErrorEnvelope`` schema, and
the response of each error status with an example per error code it can carry.

Used on a service's own document (``shared.openapi``) and on the gateway's merged one,
which is JSON (``services.gateway.openapi_merge``: :func:`add_error_responses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from litestar.openapi.spec import (
    Example,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)

from shared.errors import AppError

ENVELOPE = "ErrorEnvelope"
ENVELOPE_REF = f"#/components/schemas/{ENVELOPE}"
BEARER = "bearerAuth"
JSON = "application/json"

# An error as documented: an AppError subclass, or an instance with a specific message.
Documented = type[AppError] | AppError


def envelope_schema() -> Schema:
    string = OpenAPIType.STRING
    error = Schema(
        type=OpenAPIType.OBJECT,
        required=["code", "message", "details", "correlation_id", "timestamp"],
        properties={
            "code": Schema(type=string, description="Machine-readable, e.g. `NOT_FOUND`"),
            "message": Schema(type=string, description="Human-readable sentence"),
            "details": Schema(
                type=OpenAPIType.OBJECT,
                description="More about this error (e.g. `fields`, `where`, `retry_after`)",
            ),
            "correlation_id": Schema(
                type=string, description="The request's `X-Request-ID`, also in the logs"
            ),
            "timestamp": Schema(type=string, format=OpenAPIFormat.DATE_TIME),
        },
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["error"],
        properties={"error": error},
        title=ENVELOPE,
        description="Every error response of the API, whatever its status.",
    )


def bearer_scheme() -> SecurityScheme:
    return SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="The access token from `POST /api/v1/auth/login` (or `/refresh`), or at "
        "the gateway a personal access token (`tdp_...`, from `POST /api/v1/auth/tokens`).",
    )


def _code_and_message(error: Documented) -> tuple[int, str, str, dict[str, Any]]:
    details = error.details if isinstance(error, AppError) else {}
    return error.status_code, error.code, error.message, details


def _example(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "correlation_id": "9f6c1a2b3d4e4f5a8b7c6d5e4f3a2b1c",
            "timestamp": "2025-01-01T12:00:00.000Z",
        }
    }


def _description(status: int, summaries: Iterable[tuple[str, str]]) -> str:
    lines = [f"{HTTPStatus(status).phrase}:"] + [f"- `{c}`: {s}" for c, s in summaries]
    return "\n".join(lines)


def envelope_media(examples: dict[str, Example | Reference] | None) -> OpenAPIMediaType:
    return OpenAPIMediaType(schema=Reference(ref=ENVELOPE_REF), examples=examples)


def error_responses(errors: Iterable[Documented]) -> dict[int, OpenAPIResponse]:
    """One response per status: the envelope, and an example per error code."""
    by_status: dict[int, dict[str, Example]] = {}
    for error in errors:
        status, code, message, details = _code_and_message(error)
        examples = by_status.setdefault(status, {})
        if code not in examples:
            examples[code] = Example(summary=message, value=_example(code, message, details))
    return {
        status: OpenAPIResponse(
            description=_description(
                status, ((code, ex.summary or "") for code, ex in examples.items())
            ),
            content={JSON: envelope_media(dict(examples))},
        )
        for status, examples in sorted(by_status.items())
    }


def add_error_responses(operation: dict[str, Any], errors: Iterable[Documented]) -> None:
    """Add ``errors`` to an operation of a document in its JSON form (merging examples
    into a response of the same status)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in error_responses(errors).items():
        new = response.to_schema()
        current = responses.get(str(status))
        if current is None:
            responses[str(status)] = new
            continue
        media = current.setdefault("content", {}).setdefault(JSON, {})
        media["schema"] = {"$ref": ENVELOPE_REF}
        examples = media.setdefault("examples", {})
        for code, example in new["content"][JSON]["examples"].items():
            examples.setdefault(code, example)
        current["description"] = _description(
            status, ((code, ex.get("summary", "")) for code, ex in examples.items())
        )
    operation["responses"] = dict(sorted(responses.items()))
