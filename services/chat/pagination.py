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

from shared.pagination import Keyset, cursor_instant

DEFAULT_CONVERSATIONS = 20
DEFAULT_MESSAGES = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


def _conversation_after(parts: list[Any]) -> tuple[datetime, uuid.UUID]:
    moment, conversation_id = parts
    return cursor_instant(moment), msgspec.convert(conversation_id, uuid.UUID)


def _message_after(parts: list[Any]) -> int:
    (seq,) = parts
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("not a message number")
    return seq


CONVERSATIONS = Keyset("conversations", _conversation_after, max_length=MAX_CURSOR_LENGTH)
MESSAGES = Keyset("messages", _message_after, max_length=MAX_CURSOR_LENGTH)
