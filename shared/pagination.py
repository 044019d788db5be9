"""Keyset cursors and the 400 for a bad request parameter, shared by the services' lists.

A cursor is the urlsafe base64 (unpadded) of a small JSON array naming the list (or sort
order) it belongs to and the last item of a page; each service decides what goes in the
array and checks it when it comes back. Clients treat cursors as opaque.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec

from shared.errors import ValidationFailed

Source = Literal["query", "header", "path", "body"]


def invalid(key: str, message: str, *, source: Source = "query") -> ValidationFailed:
    """A 400 naming one request parameter, shaped like the framework's own validation errors."""
    return ValidationFailed(
        f"Invalid {key}",
        details={"fields": [{"key": key, "message": message, "source": source}]},
    )


def encode_cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(parts)).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, max_length: int, as_type: Any = Any) -> Any:
    """The JSON array inside ``cursor`` (converted to ``as_type``).

    Raises ``ValueError`` or ``msgspec.MsgspecError`` for anything that is not one; the
    caller turns that into :func:`invalid` with the words that fit its list.
    """
    if len(cursor) > max_length:
        raise ValueError("too long")
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return msgspec.json.decode(raw, type=as_type)
