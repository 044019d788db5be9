"""Classes of hostile input refused where they enter, once for every service.

- A JSON body that is not valid UTF-8, or holds a NUL character in any key or string
  (PostgreSQL text cannot store one): :class:`CheckedRequest`, the request class of every
  app, refuses it when the body is decoded.
- A NUL character in a path or query parameter: :func:`check_url_parameters`, run by
  ``shared.request_guard`` once the route (and so the parameters' names) is known.
- An instant whose UTC time falls outside years 1..9999 (``9999-12-31T23:59:59-14:00``):
  valid RFC 3339, but neither Python nor the database driver can convert it to UTC.
  :class:`CheckedInput` is the base of request structs that carry instants, and
  :func:`converts_to_utc` serves the places that read one some other way (cursors, the
  assistant's tool arguments).

Each answers 400 ``VALIDATION_ERROR`` naming the field (docs/design.md §3); nothing
reaches a service function, so nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.types import Scope

from shared.errors import Source, invalid

NUL = "\x00"


def nul_place(value: Any, root: str = "") -> str | None:
    """The place of the first NUL character in ``value``'s keys and strings, or None.

    Places read like the framework's own field names: ``title``, ``tags[1]``,
    ``registry.tasks[0].id`` (with ``root`` = ``"$"``: ``$.tasks[0].id``).
    """
    # An explicit stack: a document may nest deeper than Python's recursion limit.
    stack: list[tuple[Any, str]] = [(value, root)]
    while stack:
        item, place = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return place or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                inner = f"{place}.{key}" if place else str(key)
                if isinstance(key, str) and NUL in key:
                    return inner.replace(NUL, "\\u0000")
                stack.append((child, inner))
        elif isinstance(item, list):
            stack.extend((child, f"{place}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request, with the body's bytes and strings checked as it is decoded."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except UnicodeDecodeError:
            raise invalid("body", "is not valid UTF-8", source="body") from None
        except SerializationException as exc:  # not JSON, or a number beyond a float
            raise invalid("body", f"is not JSON: {exc}", source="body") from None
        # A NUL can only be written in JSON as the escape \u0000: look for the bytes first,
        # so the common body is never walked.
        if b"\\u0000" in await self.body():
            place = nul_place(value)
            if place is not None:
                raise invalid(place, "must not contain a NUL character (\\u0000)", source="body")
        return value


def check_url_parameters(scope: Scope) -> None:
    """Refuse a NUL character in a path or query parameter (name or value)."""
    for name, value in scope.get("path_params", {}).items():
        if isinstance(value, str) and NUL in value:
            raise invalid(name, "must not contain a NUL character", source="path")
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                key = name.replace(NUL, "\\u0000")
                raise invalid(key, "must not contain a NUL character", source="query")


# The database driver stores the first and the last representable instant as -infinity
# and infinity, which read back as naive datetimes: they are refused with the rest.
_SENTINELS = (datetime.min, datetime.max)


def converts_to_utc(moment: datetime) -> bool:
    """Whether ``moment`` (if aware) has a UTC time strictly between the first and the
    last representable instant (see ``_SENTINELS``)."""
    if moment.tzinfo is None:
        return True
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        return False
    return in_utc.replace(tzinfo=None) not in _SENTINELS


INSTANT_RANGE = "must lie after 0001-01-01T00:00:00Z and before 9999-12-31T23:59:59.999999Z"


def check_instant(moment: datetime, key: str, source: Source) -> datetime:
    """``moment``, if it converts to UTC (else 400 naming ``key``)."""
    if not converts_to_utc(moment):
        raise invalid(key, INSTANT_RANGE, source=source)
    return moment


class CheckedInput(msgspec.Struct):
    """Base of request structs (bodies, filters) whose instants must be convertible to UTC.

    msgspec runs ``__post_init__`` after decoding and on plain construction alike; an
    ``AppError`` raised there reaches the error handler unchanged.
    """

    input_source: ClassVar[Source] = "body"

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                check_instant(value, name, self.input_source)
