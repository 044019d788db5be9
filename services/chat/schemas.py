"""Request and response bodies of the chat API (msgspec Structs).

Input structs refuse unknown fields, so a typo in a field name is a 400, not a silent
no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

# A message or title: no control characters (tab and newlines aside), one visible character.
VISIBLE = r"^(?=[\s\S]*?\S)[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# A todo's priority, as the todo tools take it.
Priority = Literal["low", "medium", "high", "urgent"]

MAX_MESSAGE_LENGTH = 4000
MAX_TITLE_LENGTH = 200

Message = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_MESSAGE_LENGTH,
        pattern=VISIBLE,
        description="1..4000 characters, no control characters but tab and newlines",
    ),
]
Title = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=MAX_TITLE_LENGTH, pattern=VISIBLE, description="1..200 characters"
    ),
]


class ChatRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    message: Message
    conversation_id: uuid.UUID | None = None  # none: start a new conversation


class ToolCall(msgspec.Struct, kw_only=True):
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


class ChatResponse(msgspec.Struct, kw_only=True):
    conversation_id: uuid.UUID
    message_id: uuid.UUID  # the assistant's reply
    response: str
    tool_calls: list[ToolCall]


class Conversation(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    created_at: datetime
    last_active_at: datetime


class ConversationPage(msgspec.Struct, kw_only=True):
    items: list[Conversation]
    next_cursor: str | None


class StoredMessage(msgspec.Struct, kw_only=True):
    """One message of a conversation; tool calls have role ``tool`` and the ``tool_*`` fields."""

    id: uuid.UUID
    role: Literal["user", "assistant", "tool"]
    content: str
    tool_name: str | None
    tool_arguments: dict[str, Any] | None
    tool_result: dict[str, Any] | None
    created_at: datetime


class ConversationDetail(Conversation, kw_only=True):
    messages: list[StoredMessage]  # oldest first
    next_cursor: str | None  # the next page of messages


class ConversationRename(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title
