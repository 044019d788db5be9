"""What the conversation endpoints do: list, read (with messages), rename, delete.

Every function acts for one user; another user's conversation is answered exactly like a
missing one (:class:`~shared.errors.NotFound`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import repository
from services.chat.pagination import CONVERSATIONS, MESSAGES
from services.chat.schemas import Conversation, ConversationDetail, ConversationPage
from shared.errors import NotFound
from shared.pagination import keyset_page

NOT_FOUND = "Conversation not found"


async def list_conversations(
    session: AsyncSession, user_id: uuid.UUID, cursor: str | None, limit: int
) -> ConversationPage:
    after = CONVERSATIONS.after(cursor)
    items, next_cursor = await keyset_page(
        lambda n: repository.list_page(session, user_id, after, n),
        limit,
        lambda last: CONVERSATIONS.cursor(last.last_active_at, last.id),
    )
    return ConversationPage(items=items, next_cursor=next_cursor)


async def get_conversation(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> ConversationDetail:
    """The conversation with one page of its messages, oldest first."""
    after = MESSAGES.after(cursor)
    conversation = await repository.owned(session, user_id, conversation_id)
    if conversation is None:
        raise NotFound(NOT_FOUND)
    rows, next_cursor = await keyset_page(
        lambda n: repository.messages_page(session, conversation_id, after, n),
        limit,
        lambda last: MESSAGES.cursor(last[0]),
    )
    return ConversationDetail(
        id=conversation.id,
        title=conversation.title,
        created_at=conversation.created_at,
        last_active_at=conversation.last_active_at,
        messages=[message for _, message in rows],
        next_cursor=next_cursor,
    )


async def rename_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, title: str
) -> Conversation:
    renamed = await repository.rename(session, user_id, conversation_id, title.strip())
    if renamed is None:
        raise NotFound(NOT_FOUND)
    return renamed


async def delete_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    if not await repository.remove(session, user_id, conversation_id):
        raise NotFound(NOT_FOUND)
