"""A job submission message as the contexts service reads it, and the answers it sends.

The message: the body of ``POST /api/v1/contexts/jobs`` (JSON), the submitting user's
access token in the header ``authorization: Bearer <token>``, optionally ``message_id``,
``correlation_id`` and ``reply_to`` (docs/messaging.md). :func:`read_submission` checks
it the way the HTTP API checks a request; what cannot be processed becomes
:class:`Rejected` with the reason that goes into its dead letter and its error reply.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from aio_pika.abc import AbstractIncomingMessage

from services.contexts.intake.schemas import JobRequest
from shared.consumer import Refused
from shared.errors import AppError, Unauthorized, ValidationFailed
from shared.scopes import CONTEXTS, require_scope
from shared.tokens import TokenVerifier

AUTHORIZATION_HEADER = "authorization"
REPLY_TYPE = "contexts.job.submitted"  # the AMQP ``type`` of an answer
ERROR_REPLY_TYPE = "contexts.job.rejected"
# Namespace of the claim keys of submit messages (see _message_key).
_KEY_NAMESPACE = uuid.UUID("6f1c3f0e-3c55-4d8e-9a39-3f3b8b7f0c21")
_request_decoder = msgspec.json.Decoder(JobRequest)


class Rejected(Refused):
    """The message can never be processed; ``reason`` goes into its dead letter and its
    error reply, ``error`` (the domain error) gives the reply its code and details."""


@dataclass(frozen=True)
class Submission:
    """A readable submit message: who submits what, and how to recognise its copies."""

    user_id: uuid.UUID
    request: JobRequest
    key: uuid.UUID  # the claim key in contexts.processed_messages
    correlation_id: str


class Reply(msgspec.Struct, kw_only=True):
    job_id: uuid.UUID
    total_tasks: int
    sub_batches: int


def read_submission(
    message: AbstractIncomingMessage, verifier: TokenVerifier, max_body_bytes: int
) -> Submission:
    """Check the token, then the body (at most ``max_body_bytes``, the service's limit for
    the HTTP body too); :class:`Rejected` says what is wrong.

    The token comes first: nothing about a body is looked at for an unknown sender.
    """
    header = (message.headers or {}).get(AUTHORIZATION_HEADER)
    if header is not None and not isinstance(header, str | bytes):
        refusal = Unauthorized("Authorization header must be 'Bearer <token>'")
        raise Rejected(f"unauthorized: {refusal.message}", error=refusal)
    authorization = header.decode(errors="replace") if isinstance(header, bytes) else header
    try:
        claims = verifier.verify_header(authorization)
        require_scope(claims, frozenset({CONTEXTS}))  # as POST /api/v1/contexts/jobs does
        user_id = uuid.UUID(claims.user_id)
    except AppError as exc:
        raise Rejected(f"unauthorized: {exc.message}", error=exc) from exc
    except ValueError as exc:
        raise Rejected("unauthorized: the token's subject is not a user id") from exc
    if len(message.body) > max_body_bytes:
        raise Rejected(f"body larger than {max_body_bytes} bytes")
    try:
        request = _request_decoder.decode(message.body)
    except msgspec.ValidationError as exc:
        raise Rejected(f"invalid job request: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise Rejected(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise Rejected("invalid job request: the JSON body is nested too deeply") from exc
    key = _message_key(message, user_id, authorization or "")
    correlation_id = message.correlation_id or str(key)
    return Submission(user_id=user_id, request=request, key=key, correlation_id=correlation_id)


def _message_key(
    message: AbstractIncomingMessage, user_id: uuid.UUID, authorization: str
) -> uuid.UUID:
    """The claim key: the sender's user id with the ``message_id``.

    Each producer picks its own message ids, so they are only unique per user: another
    user's message with the same id is a different submission. Without a ``message_id``
    the key is derived from the token and the body, so a redelivered copy is still
    recognised (two identical submissions with the same token then make one job).
    """
    if message.message_id:
        return uuid.uuid5(_KEY_NAMESPACE, f"{user_id}:{message.message_id}")
    digest = hashlib.sha256(authorization.encode() + b"\n" + message.body).hexdigest()
    return uuid.uuid5(_KEY_NAMESPACE, digest)


def rejection_reason(error: ValidationFailed) -> str:
    """A dead-letter reason from intake's refusal: its message and where the problem is."""
    where = error.details.get("where")
    reason = f"invalid job request: {error.message}"
    return reason if not where or str(where) in error.message else f"{reason} (at {where})"


def error_body(rejected: Refused) -> bytes:
    error = rejected.error if isinstance(rejected.error, AppError) else None
    code = error.code if error is not None else "VALIDATION_ERROR"
    details: dict[str, Any] = error.details if error is not None else {}
    return msgspec.json.encode(
        {"error": {"code": code, "message": rejected.reason, "details": details}}
    )
