"""Keyset pagination, for every list of the product (docs/design.md §3).

A page is fetched with one row more than asked (:func:`keyset_page`): when that row
exists, the cursor of the page's last row is the ``next_cursor``; the next page starts
strictly after it, so rows added or removed meanwhile never make a page repeat or skip
the others.

A cursor is the urlsafe base64 (unpadded) of a small JSON array naming the list (or sort
order) it belongs to and the last item of a page; a list's :class:`Keyset` says what goes
in the array and reads it back. Clients treat cursors as opaque, but a cursor comes back
as the client's input: what it decodes to is checked here like any other input (numbers
that fit a bigint, strings without NUL, instants that convert to UTC), and anything else
is a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

from shared.errors import invalid
from shared.input_checks import NUL, converts_to_utc

T = TypeVar("T")
Row = TypeVar("Row")

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


class Keyset(Generic[T]):
    """The cursors of one list: ``[name, *parts]`` (``parts`` alone when ``name`` is None).

    ``read`` turns a cursor's parts back into what the list's query starts after (raising
    ``ValueError``, ``TypeError`` or ``msgspec.MsgspecError`` for parts it cannot use).
    """

    def __init__(
        self,
        name: str | None,
        read: Callable[[list[Any]], T],
        *,
        max_length: int = 512,
        refusal: str = "is not a cursor of this list",
    ) -> None:
        self.name = name
        self.read = read
        self.max_length = max_length
        self.refusal = refusal

    def cursor(self, *parts: Any) -> str:
        return encode_cursor([self.name, *parts] if self.name is not None else list(parts))

    def after(self, cursor: str | None) -> T | None:
        """Where the page after ``cursor`` starts (None: the first page); 400 if forged."""
        if not cursor:  # absent or empty: the first page
            return None
        try:
            parts = decode_cursor(cursor, max_length=self.max_length, as_type=list[Any])
            if self.name is not None:
                if not parts or parts[0] != self.name:
                    raise ValueError("made for another list")
                parts = parts[1:]
            return self.read(parts)
        except (ValueError, TypeError, msgspec.MsgspecError) as exc:
            raise invalid("cursor", self.refusal) from exc


async def keyset_page(
    fetch: Callable[[int], Awaitable[Sequence[Row]]],
    limit: int,
    cursor_of: Callable[[Row], str],
) -> tuple[list[Row], str | None]:
    """Up to ``limit`` rows, and the cursor after the last one when more follow.

    ``fetch(n)`` returns the first ``n`` rows after the requested cursor, in list order.
    """
    rows = await fetch(limit + 1)
    items = list(rows[:limit])
    return items, cursor_of(items[-1]) if len(rows) > limit else None
