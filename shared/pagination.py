"""Keyset cursors shared by the services' lists.

A cursor is the urlsafe base64 (unpadded) of a small JSON array naming the list (or sort
order) it belongs to and the last item of a page; each service decides what goes in the
array. Clients treat cursors as opaque, but a cursor comes back as the client's input:
what it decodes to is checked here like any other input (numbers that fit a bigint,
strings without NUL, instants that convert to UTC), before a service reads it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import msgspec

from shared.input_checks import NUL, converts_to_utc

BIGINT = 2**63  # what a Postgres bigint (and so any of our columns) holds: -BIGINT..BIGINT-1


def encode_cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(parts)).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, max_length: int, as_type: Any = Any) -> Any:
    """The JSON array inside ``cursor`` (converted to ``as_type``).

    Raises ``ValueError`` or ``msgspec.MsgspecError`` for anything that is not one, or
    that holds a value no column can hold; the caller turns that into
    ``shared.errors.invalid("cursor", ...)`` with the words that fit its list.
    """
    if len(cursor) > max_length:
        raise ValueError("too long")
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    parts = msgspec.json.decode(raw, type=as_type)
    for part in parts if isinstance(parts, list | tuple) else [parts]:
        _check_part(part)
    return parts


def cursor_instant(value: Any) -> datetime:
    """An aware instant read from a cursor part (``ValueError`` for anything else)."""
    moment = msgspec.convert(value, datetime)
    if moment.tzinfo is None or not converts_to_utc(moment):
        raise ValueError("not an aware instant within years 1..9999")
    return moment


def _check_part(part: Any) -> None:
    if isinstance(part, bool) or part is None:
        return
    if isinstance(part, int) and not -BIGINT <= part < BIGINT:
        raise ValueError("number out of range")
    if isinstance(part, float):
        raise ValueError("no cursor holds a fraction")
    if isinstance(part, str) and NUL in part:
        raise ValueError("NUL character")
    if isinstance(part, list | tuple | dict):
        raise ValueError("nested value")
