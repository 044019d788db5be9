"""The SQL of the chat service.

Conversations are always looked up with their owner, so a caller can never reach another
user's conversation; messages are reached only through a conversation already checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.engine_api import HistoryMessage
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


async def insert_conversation(
    session: AsyncSession, user_id: uuid.UUID, title: str
) -> Conversation:
    stmt = (
        insert(conversations)
        .values(id=uuid.uuid4(), user_id=user_id, title=title)
        .returning(*CONVERSATION_COLUMNS)
    )
    return _conversation((await session.execute(stmt)).one())


async def owned(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation | None:
    stmt = select(*CONVERSATION_COLUMNS).where(cv.id == conversation_id, cv.user_id == user_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else _conversation(row)


async def resume(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation | None:
    """Mark the caller's conversation active now; ``None`` when it is not theirs."""
    stmt = (
        update(conversations)
        .where(cv.id == conversation_id, cv.user_id == user_id)
        .values(last_active_at=func.now())
        .returning(*CONVERSATION_COLUMNS)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else _conversation(row)


async def touch(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Mark the conversation active now (it moves to the top of the list)."""
    stmt = update(conversations).where(cv.id == conversation_id).values(last_active_at=func.now())
    await session.execute(stmt)


async def insert_user_message(
    session: AsyncSession, conversation_id: uuid.UUID, content: str
) -> int:
    """Append the user's message; its ``seq`` (the history is what came before it)."""
    stmt = (
        insert(messages)
        .values(id=uuid.uuid4(), conversation_id=conversation_id, role="user", content=content)
        .returning(m.seq)
    )
    return int((await session.execute(stmt)).scalar_one())


async def append_messages(
    session: AsyncSession, conversation_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    """Append messages in the order given, in one statement (the identity column numbers
    the rows of one INSERT in order). A row gives ``role`` and what else it has."""
    if not rows:
        return
    empty = {"content": "", "tool_name": None, "tool_arguments": None, "tool_result": None}
    values = [
        {"id": uuid.uuid4(), **empty, **row, "conversation_id": conversation_id} for row in rows
    ]
    await session.execute(insert(messages).values(values))


async def history(
    session: AsyncSession, conversation_id: uuid.UUID, before_seq: int, window: int
) -> list[HistoryMessage]:
    """The last ``window`` messages before ``before_seq``, oldest first."""
    stmt = (
        select(m.role, m.content, m.tool_name, m.tool_arguments, m.tool_result)
        .where(m.conversation_id == conversation_id, m.seq < before_seq)
        .order_by(m.seq.desc())
        .limit(window)
    )
    rows = (await session.execute(stmt)).all()
    return [
        HistoryMessage(
            role=role,
            content=content,
            tool_name=tool_name,
            tool_arguments=tool_arguments,
            tool_result=tool_result,
        )
        for role, content, tool_name, tool_arguments, tool_result in reversed(rows)
    ]


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
