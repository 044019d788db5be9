"""What the conversation endpoints do: list, read (with messages), rename, delete.

Every function acts for one user; another user's conversation is answered exactly like a
missing one (:class:`~shared.errors.NotFound`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import repository
from services.chat.pagination import (
    conversation_cursor,
    decode_conversation_cursor,
    decode_message_cursor,
    message_cursor,
)
from services.chat.schemas import Conversation, ConversationDetail, ConversationPage
from shared.errors import NotFound

NOT_FOUND = "Conversation not found"


async def list_conversations(
    session: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int
) -> ConversationPage:
    after = decode_conversation_cursor(cursor) if cursor else None
    rows = await repository.list_page(session, user_id, after, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = conversation_cursor(last.last_active_at, last.id)
    return ConversationPage(items=rows[:limit], next_cursor=next_cursor)


async def get_conversation(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> ConversationDetail:
    """The conversation with one page of its messages, oldest first."""
    after = decode_message_cursor(cursor) if cursor else None
    conversation = await repository.owned(session, user_id, conversation_id)
    if conversation is None:
        raise NotFound(NOT_FOUND)
    rows = await repository.messages_page(session, conversation_id, after, limit + 1)
    next_cursor = message_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return ConversationDetail(
        id=conversation.id,
        title=conversation.title,
        created_at=conversation.created_at,
        last_active_at=conversation.last_active_at,
        messages=[message for _, message in rows[:limit]],
        next_cursor=next_cursor,
    )


async def rename_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, title: str
) -> Conversation:
    renamed = await repository.rename(session, user_id, conversation_id, title.strip())
    if renamed is None:
        raise NotFound(NOT_FOUND)
    await session.commit()
    return renamed


async def delete_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    if not await repository.remove(session, user_id, conversation_id):
        raise NotFound(NOT_FOUND)
    await session.commit()
