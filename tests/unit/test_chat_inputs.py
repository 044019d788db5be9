"""Small pure pieces of the chat service: titles, cursors, the user's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.chat.controllers import user_now
from services.chat.pagination import (
    conversation_cursor,
    decode_conversation_cursor,
    decode_message_cursor,
    message_cursor,
)
from services.chat.turn import title_of
from shared.errors import ValidationFailed


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Buy milk", "Buy milk"),
        ("  two\n\nlines\tand  spaces ", "two lines and spaces"),
        ("x" * 60, "x" * 60),
        ("word " * 30, ("word " * 12).strip() + "…"),
    ],
)
def test_title_of_the_first_message(message, title):
    assert title_of(message) == title
    assert len(title_of(message)) <= 60


def test_cursors_round_trip():
    moment, key = datetime(2030, 1, 2, 3, 4, 5, 6789, tzinfo=UTC), uuid.uuid4()
    assert decode_conversation_cursor(conversation_cursor(moment, key)) == (moment, key)
    assert decode_message_cursor(message_cursor(42)) == 42


@pytest.mark.parametrize(
    "cursor",
    ["", "garbage", message_cursor(3), "W1wibWVzc2FnZXNcIiwgdHJ1ZV0", "x" * 600],
)
def test_a_foreign_or_broken_cursor_is_a_validation_error(cursor):
    with pytest.raises(ValidationFailed):
        decode_conversation_cursor(cursor)


def test_a_list_cursor_is_not_a_message_cursor():
    with pytest.raises(ValidationFailed):
        decode_message_cursor(conversation_cursor(datetime.now(UTC), uuid.uuid4()))


def test_now_is_aware_in_the_users_zone():
    now = user_now("America/New_York")
    assert getattr(now.tzinfo, "key", None) == "America/New_York"
    assert user_now(None).utcoffset().total_seconds() == 0


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "Europe/"])
def test_an_unknown_zone_is_a_validation_error(zone):
    with pytest.raises(ValidationFailed) as raised:
        user_now(zone)
    assert raised.value.details["fields"][0]["key"] == "x-timezone"
