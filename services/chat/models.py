"""Tables of the chat service, in the Postgres schema ``chat``.

``chat.conversations`` holds one row per conversation of a user; ``chat.messages`` every
message of it, in the order of ``seq`` (an identity column: messages written in one
transaction share ``created_at`` but never ``seq``). A tool call is a message with role
``tool`` carrying the tool's name, arguments and result.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("chat")
    type_annotation_map = TYPE_ANNOTATION_MAP


class ConversationModel(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_active_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
        # "My conversations, most recently active first" (keyset pagination).
        Index("ix_conversations_user_active", "user_id", "last_active_at", "id"),
    )


class MessageModel(Base):
    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, server_default="")
    tool_name: Mapped[str | None] = mapped_column(Text)
    tool_arguments: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tool_result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'tool')", name="role"),
        # "The messages of a conversation in order" (history window and pagination).
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
    )
