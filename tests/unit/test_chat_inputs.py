"""Small pure pieces of the chat service: titles, cursors, the user's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from services.chat.controllers import user_now
from services.chat.pagination import CONVERSATIONS, MESSAGES
from services.chat.schemas import ChatRequest
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
    assert CONVERSATIONS.after(CONVERSATIONS.cursor(moment, key)) == (moment, key)
    assert MESSAGES.after(MESSAGES.cursor(42)) == 42
    assert CONVERSATIONS.after(None) is None and MESSAGES.after("") is None  # the first page


@pytest.mark.parametrize(
    "cursor",
    ["=", "garbage", MESSAGES.cursor(3), "W1wibWVzc2FnZXNcIiwgdHJ1ZV0", "x" * 600],
)
def test_a_foreign_or_broken_cursor_is_a_validation_error(cursor):
    with pytest.raises(ValidationFailed):
        CONVERSATIONS.after(cursor)


def test_a_list_cursor_is_not_a_message_cursor():
    with pytest.raises(ValidationFailed):
        MESSAGES.after(CONVERSATIONS.cursor(datetime.now(UTC), uuid.uuid4()))


def test_now_is_aware_in_the_users_zone():
    now = user_now("America/New_York")
    assert getattr(now.tzinfo, "key", None) == "America/New_York"
    assert user_now(None).utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "zone",
    # Directories of the zone database and over-long names fail with OSError, not
    # ZoneInfoNotFoundError: still the caller's mistake, a 400.
    ["Mars/Olympus", "../../etc/passwd", "Europe/", "Europe", "America", "Etc", "x" * 300],
)
def test_an_unknown_zone_is_a_validation_error(zone):
    with pytest.raises(ValidationFailed) as raised:
        user_now(zone)
    field = raised.value.details["fields"][0]
    assert (field["key"], field["source"]) == ("x-timezone", "header")


@pytest.mark.parametrize("message", ["hi\u0000there", "\u0007", "nul at the end\u0000"])
def test_a_message_with_control_characters_is_refused(message):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"message": message}, ChatRequest)


def test_a_message_may_span_lines():
    text = "add these:\n\tmilk\r\n\teggs"
    assert msgspec.convert({"message": text}, ChatRequest).message == text
