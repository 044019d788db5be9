"""The SQL of the conversations API (a turn's own two statements are in ``turn_store.py``).

Conversations are always looked up with their owner, so a caller can never reach another
user's conversation; messages are reached only through a conversation already checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.models import ConversationModel, MessageModel
from services.chat.schemas import Conversation, StoredMessage

conversations = cast(Table, ConversationModel.__table__)
messages = cast(Table, MessageModel.__table__)
cv, m = conversations.c, messages.c

CONVERSATION_COLUMNS = (cv.id, cv.title, cv.created_at, cv.last_active_at)
MESSAGE_COLUMNS = (
    m.id, m.role, m.content, m.tool_name, m.tool_arguments, m.tool_result, m.created_at,
)  # fmt: skip


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(id=row[0], title=row[1], created_at=row[2], last_active_at=row[3])


def _message(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(**dict(zip(StoredMessage.__struct_fields__, row, strict=True)))


async def owned(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation | None:
    stmt = select(*CONVERSATION_COLUMNS).where(cv.id == conversation_id, cv.user_id == user_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else _conversation(row)


async def list_page(
    session: AsyncSession,
    user_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Conversation]:
    """Up to ``limit`` conversations, most recently active first, after the keyset."""
    stmt = select(*CONVERSATION_COLUMNS).where(cv.user_id == user_id)
    if after is not None:
        bound = tuple_(literal(after[0], cv.last_active_at.type), literal(after[1], cv.id.type))
        stmt = stmt.where(tuple_(cv.last_active_at, cv.id) < bound)
    stmt = stmt.order_by(cv.last_active_at.desc(), cv.id.desc()).limit(limit)
    return [_conversation(row) for row in await session.execute(stmt)]


async def messages_page(
    session: AsyncSession, conversation_id: uuid.UUID, after_seq: int | None, limit: int
) -> list[tuple[int, StoredMessage]]:
    """Up to ``limit`` (seq, message) pairs in order, after ``after_seq``."""
    stmt = select(m.seq, *MESSAGE_COLUMNS).where(m.conversation_id == conversation_id)
    if after_seq is not None:
        stmt = stmt.where(m.seq > after_seq)
    stmt = stmt.order_by(m.seq).limit(limit)
    return [(row[0], _message(row[1:])) for row in await session.execute(stmt)]


async def rename(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, title: str
) -> Conversation | None:
    stmt = (
        update(conversations)
        .where(cv.id == conversation_id, cv.user_id == user_id)
        .values(title=title)
        .returning(*CONVERSATION_COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else _conversation(row)


async def remove(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
    """Delete the conversation (its messages go with it, ON DELETE CASCADE)."""
    stmt = (
        delete(conversations)
        .where(cv.id == conversation_id, cv.user_id == user_id)
        .returning(cv.id)
    )
    return (await session.execute(stmt)).first() is not None
