"""HTTP routes of the chat service: ``/api/v1/chat`` and ``/api/v1/chat/conversations``.

The caller is ``request.user`` (the token's subject, set by the bearer middleware); the
same token goes on to the todos service with every tool call.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import conversations, turn
from services.chat.errors import LlmUnavailable
from services.chat.pagination import (
    DEFAULT_CONVERSATIONS,
    DEFAULT_MESSAGES,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
)
from services.chat.schemas import (
    ChatRequest,
    ChatResponse,
    Conversation,
    ConversationDetail,
    ConversationPage,
    ConversationRename,
)
from services.chat.settings import ChatSettings
from services.chat.streaming import EventStream, stream_turn
from services.chat.todos_client import TodosClient
from services.chat.toolbox import OnCall, TurnToolbox
from shared.auth_middleware import caller
from shared.errors import NotFound, ServiceUnavailable, invalid
from shared.openapi import raises

AuthRequest = Request[str, Any, Any]
Session = NamedDependency[AsyncSession]  # provided by shared.service_app
ConversationId = Annotated[uuid.UUID, PathParameter(description="The conversation's id")]
Cursor = Annotated[str | None, QueryParameter(max_length=MAX_CURSOR_LENGTH)]
TimeZone = Annotated[
    str | None,
    HeaderParameter(
        name="x-timezone", description="IANA time zone of the user (default UTC)", required=False
    ),
]


def user_now(time_zone: str | None) -> datetime:
    """Now, aware, in the user's IANA time zone (``X-Timezone``); 400 for an unknown zone."""
    if not time_zone:
        return datetime.now(ZoneInfo("UTC"))
    try:
        return datetime.now(ZoneInfo(time_zone))
    # A name that is a directory of the zone database ("Europe") or too long for a file
    # name surfaces as OSError rather than ZoneInfoNotFoundError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = "must be an IANA time zone name such as Europe/Paris"
        raise invalid("x-timezone", message, source="header") from None


class ChatController(Controller):
    path = "/api/v1/chat"
    tags = ["chat"]

    @post(
        "/",
        status_code=200,
        summary="Send a message to the assistant",
        description="With `Accept: text/event-stream` the turn streams as Server-Sent Events: "
        "`tool_call` per tool call, `reply`, then `done` with the JSON answer.",
        # The conversation may be missing; the model may fail; the turn's database work is
        # done through the sessionmaker (no ``session`` dependency), so 503 is named here.
        raises=raises(NotFound, LlmUnavailable, ServiceUnavailable),
        responses={
            200: ResponseSpec(
                ChatResponse,
                generate_examples=False,
                description="The assistant's answer (JSON); with `Accept: text/event-stream`, "
                "Server-Sent Events (`tool_call`, `reply`, `done`) instead",
            )
        },
    )
    async def chat(
        self,
        request: AuthRequest,
        state: State,
        data: JSONBody[ChatRequest],
        x_timezone: TimeZone = None,
    ) -> ChatResponse | EventStream:
        settings: ChatSettings = state.settings
        now = user_now(x_timezone)
        started = await turn.start(
            state.sessionmaker, caller(request), data, settings.chat_history_window
        )
        client = TodosClient(
            state.todos_http, settings.todos_url, request.headers.get("authorization", "")
        )

        async def run_turn(on_call: OnCall | None = None) -> ChatResponse:
            deadline = asyncio.get_running_loop().time() + settings.chat_turn_timeout_seconds
            toolbox = TurnToolbox(
                client,
                on_call,
                max_calls=settings.chat_max_tool_calls,
                start_until=deadline - settings.todos_timeout,
                tz=now.tzinfo or UTC,
            )
            return await turn.run(
                state.sessionmaker, state.chat_engine, toolbox, started, data.message, now
            )

        if "text/event-stream" in request.headers.get("accept", ""):
            return stream_turn(run_turn)
        return await run_turn()

    @get("/conversations", summary="My conversations, most recently active first")
    async def list_conversations(
        self,
        request: AuthRequest,
        session: Session,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_CONVERSATIONS,
    ) -> ConversationPage:
        return await conversations.list_conversations(session, caller(request), cursor, limit)

    @get(
        "/conversations/{conversation_id:uuid}",
        summary="A conversation and its messages",
        raises=raises(NotFound),
    )
    async def get_conversation(
        self,
        request: AuthRequest,
        session: Session,
        conversation_id: ConversationId,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_MESSAGES,
    ) -> ConversationDetail:
        return await conversations.get_conversation(
            session, caller(request), conversation_id, cursor, limit
        )

    @patch(
        "/conversations/{conversation_id:uuid}",
        summary="Rename a conversation",
        raises=raises(NotFound),
    )
    async def rename_conversation(
        self,
        request: AuthRequest,
        session: Session,
        conversation_id: ConversationId,
        data: JSONBody[ConversationRename],
    ) -> Conversation:
        return await conversations.rename_conversation(
            session, caller(request), conversation_id, data.title
        )

    @delete(
        "/conversations/{conversation_id:uuid}",
        status_code=204,
        summary="Delete a conversation and its messages",
        raises=raises(NotFound),
    )
    async def delete_conversation(
        self, request: AuthRequest, session: Session, conversation_id: ConversationId
    ) -> None:
        await conversations.delete_conversation(session, caller(request), conversation_id)
