"""Keyset cursors of the chat lists.

A cursor is the urlsafe base64 (unpadded) of a small JSON array naming the list it belongs
to and the last item of a page: ``["conversations", last_active_at, id]`` or
``["messages", seq]``. The next page starts strictly after it, so items added meanwhile
never make a page repeat or skip the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from shared.errors import invalid
from shared.pagination import cursor_instant, decode_cursor, encode_cursor

DEFAULT_CONVERSATIONS = 20
DEFAULT_MESSAGES = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


def _decode(cursor: str) -> list[Any]:
    parts: list[Any] = decode_cursor(cursor, max_length=MAX_CURSOR_LENGTH, as_type=list[Any])
    return parts


def conversation_cursor(last_active_at: datetime, conversation_id: uuid.UUID) -> str:
    return encode_cursor(["conversations", last_active_at, conversation_id])


def decode_conversation_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        kind, moment, conversation_id = _decode(cursor)
        if kind != "conversations":
            raise ValueError("made for another list")
        return cursor_instant(moment), msgspec.convert(conversation_id, uuid.UUID)
    except (ValueError, TypeError, msgspec.MsgspecError) as exc:
        raise invalid("cursor", "is not a cursor of this list") from exc


def message_cursor(seq: int) -> str:
    return encode_cursor(["messages", seq])


def decode_message_cursor(cursor: str) -> int:
    try:
        kind, seq = _decode(cursor)
        if kind != "messages" or not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("made for another list")
        return seq
    except (ValueError, TypeError, msgspec.MsgspecError) as exc:
        raise invalid("cursor", "is not a cursor of this list") from exc
