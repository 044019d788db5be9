"""One chat turn, stateless: everything it knows comes from Postgres and the request.

In this order: check that the conversation is the caller's (someone else's is answered
exactly like a missing one); store the user's message and load the bounded history window,
committed before the engine runs (no database connection is held meanwhile); store the
tool calls and the reply (one statement); answer. A model failure still stores the tool
calls that ran (they changed todos) and then raises :class:`LlmUnavailable` (502), the
user's message staying stored.

:class:`ChatTurns` (one per process, built by the app's lifespan) holds what every turn
needs; :meth:`ChatTurns.start` stores the user's message and gives a :class:`StartedTurn`,
whose :meth:`StartedTurn.run` answers it (directly or under the event stream).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat import turn_store
from services.chat.engine_api import Engine, HistoryMessage, OnDelta, Turn
from services.chat.schemas import ChatRequest, ChatResponse, ToolCall
from services.chat.settings import ChatSettings
from services.chat.todo_tools import TodoTools
from services.chat.toolbox import OnCall, TurnToolbox
from shared.db import driver_connection
from shared.errors import AppError, NotFound

TITLE_LENGTH = 60


def title_of(message: str) -> str:
    """A conversation's title from its first message: one line, at most 60 characters."""
    text = re.sub(r"\s+", " ", message).strip()
    if len(text) <= TITLE_LENGTH:
        return text
    return text[: TITLE_LENGTH - 1].rstrip() + "…"


class ChatTurns:
    """What every turn of this process needs: settings, database, the todo tools, engine.

    The stated exception to "the request's unit of work commits": a turn stores its work
    itself (``turn_store``, two statements of their own), because the user's message must
    be committed before the model runs, and a streamed turn is stored after its response
    began (or its client left).
    """

    def __init__(
        self,
        settings: ChatSettings,
        database: AsyncEngine,
        tools: TodoTools,
        engine: Engine,
    ) -> None:
        self.settings = settings
        self.database = database
        self.tools = tools
        self.engine = engine

    async def start(
        self, user_id: uuid.UUID, request: ChatRequest, authorization: str, now: datetime
    ) -> StartedTurn:
        """Check ownership (404), store the user's message (committed), load the history.

        ``authorization`` is the caller's own header, for the tools' calls to todos; ``now``
        is aware, in the user's zone.
        """
        # Committed before the engine runs, and the connection goes back meanwhile.
        async with driver_connection(self.database) as connection:
            begun = await turn_store.begin_turn(
                connection,
                user_id,
                request.conversation_id,
                title=title_of(request.message),
                message=request.message,
                window=self.settings.chat_history_window,
            )
        if begun is None:
            raise NotFound("Conversation not found")
        conversation_id, history = begun
        return StartedTurn(
            self, user_id, conversation_id, history, request.message, authorization, now
        )

    async def finish(
        self, conversation_id: uuid.UUID, calls: list[ToolCall], reply: str | None
    ) -> uuid.UUID | None:
        """Store the tool calls and (when there is one) the reply; the reply's message id."""
        rows: list[dict[str, Any]] = [
            {
                "role": "tool",
                "tool_name": call.name,
                "tool_arguments": call.arguments,
                "tool_result": call.result,
            }
            for call in calls
        ]
        message_id = None
        if reply is not None:
            message_id = uuid.uuid4()
            rows.append({"id": message_id, "role": "assistant", "content": reply})
        async with driver_connection(self.database) as connection:
            await turn_store.end_turn(connection, conversation_id, rows)
        return message_id


@dataclass(frozen=True)
class StartedTurn:
    """A turn whose user message is stored; :meth:`run` answers it."""

    turns: ChatTurns
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    history: list[HistoryMessage]  # the window before the user's message, oldest first
    message: str
    authorization: str
    now: datetime

    async def run(
        self, on_call: OnCall | None = None, on_delta: OnDelta | None = None
    ) -> ChatResponse:
        """Run the engine with the turn's tools and store what it did.

        ``on_call`` gets each tool call as it happens, ``on_delta`` each new piece of the
        reply's text as the engine produces it (both for the event stream). The turn's one
        deadline starts here: model requests are cut at it, and a tool call only starts
        while at least the tools' timeout is left before it.
        """
        settings = self.turns.settings
        deadline = asyncio.get_running_loop().time() + settings.chat_turn_timeout_seconds
        zone = getattr(self.now.tzinfo, "key", None) or "UTC"
        turn = Turn(
            message=self.message,
            history=self.history,
            now=self.now,
            deadline=deadline,
            on_delta=on_delta,
        )
        async with self.turns.tools.session(self.authorization, zone, str(self.user_id)) as tools:
            toolbox = TurnToolbox(
                tools,
                on_call,
                max_calls=settings.chat_max_tool_calls,
                start_until=deadline - settings.todos_timeout,
            )
            try:
                reply = await self.turns.engine.run(turn, toolbox)
            except BaseException as exc:
                if toolbox.calls:  # they changed todos: the conversation must show them
                    await self.turns.finish(self.conversation_id, toolbox.calls, None)
                if isinstance(exc, AppError):  # a new conversation exists now: say which
                    exc.details.setdefault("conversation_id", str(self.conversation_id))
                raise
        reply = reply.strip() or "Done."
        message_id = await self.turns.finish(self.conversation_id, toolbox.calls, reply)
        assert message_id is not None
        return ChatResponse(
            conversation_id=self.conversation_id,
            message_id=message_id,
            response=reply,
            tool_calls=toolbox.calls,
        )
