"""One chat turn, stateless: everything it knows comes from Postgres and the request.

In this order: check that the conversation is the caller's (someone else's is answered
exactly like a missing one); store the user's message and commit it; load the bounded
history window; run the engine (no database connection is held meanwhile); store each
tool call and the reply; answer. A model failure still stores the tool calls that ran
(they changed todos) and then raises :class:`LlmUnavailable` (502), the user's message
staying stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.chat import repository
from services.chat.engine_api import Engine, HistoryMessage, Turn
from services.chat.schemas import ChatRequest, ChatResponse, ToolCall
from services.chat.toolbox import TurnToolbox
from shared.errors import AppError, NotFound

TITLE_LENGTH = 60


def title_of(message: str) -> str:
    """A conversation's title from its first message: one line, at most 60 characters."""
    text = re.sub(r"\s+", " ", message).strip()
    if len(text) <= TITLE_LENGTH:
        return text
    return text[: TITLE_LENGTH - 1].rstrip() + "…"


@dataclass
class StartedTurn:
    conversation_id: uuid.UUID
    history: list[HistoryMessage]


async def start(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
    request: ChatRequest,
    window: int,
) -> StartedTurn:
    """Check ownership, store the user's message (committed), load the history before it."""
    async with sessionmaker() as session:
        if request.conversation_id is None:
            title = title_of(request.message)
            conversation = await repository.insert_conversation(session, user_id, title)
        else:
            found = await repository.owned(session, user_id, request.conversation_id)
            if found is None:
                raise NotFound("Conversation not found")
            conversation = found
            await repository.touch(session, conversation.id)
        _, seq = await repository.insert_message(session, conversation.id, "user", request.message)
        await session.commit()
        history = await repository.history(session, conversation.id, seq, window)
        await session.commit()  # hands the connection back before the engine runs
    return StartedTurn(conversation.id, history)


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    conversation_id: uuid.UUID,
    calls: list[ToolCall],
    reply: str | None,
) -> uuid.UUID | None:
    """Store the tool calls and (when there is one) the reply; the reply's message id."""
    async with sessionmaker() as session:
        for call in calls:
            await repository.insert_message(
                session,
                conversation_id,
                "tool",
                tool_name=call.name,
                tool_arguments=call.arguments,
                tool_result=call.result,
            )
        message_id = None
        if reply is not None:
            message_id, _ = await repository.insert_message(
                session, conversation_id, "assistant", reply
            )
        await repository.touch(session, conversation_id)
        await session.commit()
    return message_id


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: Engine,
    toolbox: TurnToolbox,
    started: StartedTurn,
    message: str,
    now: datetime,
) -> ChatResponse:
    """Run the engine on a started turn and store what it did."""
    try:
        reply = await engine.run(Turn(message=message, history=started.history, now=now), toolbox)
    except BaseException as exc:
        if toolbox.calls:  # they changed todos: the conversation must show them
            await finish(sessionmaker, started.conversation_id, toolbox.calls, None)
        if isinstance(exc, AppError):  # a new conversation exists now: say which
            exc.details.setdefault("conversation_id", str(started.conversation_id))
        raise
    reply = reply.strip() or "Done."
    message_id = await finish(sessionmaker, started.conversation_id, toolbox.calls, reply)
    assert message_id is not None
    return ChatResponse(
        conversation_id=started.conversation_id,
        message_id=message_id,
        response=reply,
        tool_calls=toolbox.calls,
    )
