"""The checks every request input passes: NUL characters, instants, what a cursor holds."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from services.todos.schemas import TodoCreate, TodoFilters
from shared.errors import ValidationFailed
from shared.input_checks import INSTANT_RANGE, check_instant, converts_to_utc, nul_place
from shared.pagination import cursor_instant, decode_cursor

LATE = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
EARLY = "0001-01-01T00:00:00+14:00"  # year 0 in UTC


def cursor(parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("value", "root", "place"),
    [
        ({"title": "a\x00"}, "", "title"),
        ({"tags": ["ok", "b\x00"]}, "", "tags[1]"),
        ({"registry": {"tasks": [{"id": "\x00"}]}}, "", "registry.tasks[0].id"),
        ({"tasks": [{"x\x00y": 1}]}, "$", "$.tasks[0].x\\u0000y"),
        ("\x00", "", "body"),
        ({"fine": ["a", {"b": 1.5, "c": None}]}, "", None),
    ],
)
def test_a_nul_is_found_with_its_place(value: Any, root: str, place: str | None) -> None:
    assert nul_place(value, root) == place


def test_a_nul_deeper_than_the_recursion_limit_is_found() -> None:
    deep: Any = "\x00"
    for _ in range(10_000):
        deep = [deep]
    assert nul_place({"a": deep}) == "a" + "[0]" * 10_000


@pytest.mark.parametrize(
    "text",
    # The first and last instants are what the database driver reads as -infinity and
    # infinity: they would come back without their offset.
    [
        LATE,
        EARLY,
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T01:00:00+01:00",
    ],
)
def test_an_instant_beyond_the_calendar_in_utc_is_refused_naming_the_field(text: str) -> None:
    moment = msgspec.convert(text, datetime)
    assert not converts_to_utc(moment)
    with pytest.raises(ValidationFailed) as refused:
        check_instant(moment, "due_at", "body")
    assert refused.value.details["fields"][0] == {
        "key": "due_at",
        "message": INSTANT_RANGE,
        "source": "body",
    }


def test_instants_at_the_edge_that_do_convert_pass() -> None:
    for moment in (
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=-14))),
        datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59),  # naive: nothing to convert
    ):
        assert check_instant(moment, "due_at", "body") is moment


def test_request_structs_refuse_such_instants_in_a_body_and_in_a_query() -> None:
    with pytest.raises(ValidationFailed) as in_body:
        msgspec.json.decode(json.dumps({"title": "x", "due_at": LATE}), type=TodoCreate)
    assert in_body.value.details["fields"][0]["source"] == "body"
    with pytest.raises(ValidationFailed) as in_query:
        TodoFilters(due_after=msgspec.convert(EARLY, datetime))
    assert in_query.value.details["fields"][0] == {
        "key": "due_after",
        "message": INSTANT_RANGE,
        "source": "query",
    }


@pytest.mark.parametrize(
    "part",
    [2**63, -(2**63) - 1, 10**40, 1.5, "a\x00", ["nested"], {"a": 1}],
)
def test_a_cursor_holding_an_impossible_value_is_refused(part: Any) -> None:
    with pytest.raises((ValueError, msgspec.MsgspecError)):
        decode_cursor(cursor(["messages", part]), max_length=512)


def test_a_cursor_at_the_edge_of_a_bigint_is_taken() -> None:
    assert decode_cursor(cursor(["messages", 2**63 - 1]), max_length=512) == [
        "messages",
        2**63 - 1,
    ]
    assert decode_cursor(cursor(["m", -(2**63), None, True]), max_length=512)[1] == -(2**63)


@pytest.mark.parametrize("text", [LATE, EARLY, "2026-01-01T00:00:00", "a\x00", 5])
def test_a_cursor_instant_must_be_aware_and_convert_to_utc(text: Any) -> None:
    with pytest.raises((ValueError, msgspec.MsgspecError)):
        cursor_instant(text)
    assert cursor_instant("2026-01-01T00:00:00+01:00") == datetime(2025, 12, 31, 23, tzinfo=UTC)


def test_a_cursor_uuid_with_a_nul_is_refused() -> None:
    with pytest.raises((ValueError, msgspec.MsgspecError)):
        decode_cursor(cursor([LATE, str(uuid.uuid4()) + "\x00"]), max_length=512)
