"""HTTP routes of the chat service: ``/api/v1/chat`` and ``/api/v1/chat/conversations``.

The caller is ``request.user`` (the token's subject, set by the bearer middleware); the
same token goes on to the todos service with every tool call. A chat turn is run by
:class:`services.chat.turn.ChatTurns` (provided as ``turns``); the handler only translates
HTTP: headers in, JSON or an event stream out.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter

from services.chat import conversations
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
from services.chat.streaming import stream_turn
from services.chat.turn import ChatTurns
from shared.auth_middleware import caller
from shared.errors import NotFound, ServiceUnavailable, invalid
from shared.openapi import raises
from shared.platform import Session
from shared.scopes import TODOS_READ_OR_WRITE, require_scope
from shared.sse import EventStream

AuthRequest = Request[str, Any, Any]
Turns = NamedDependency[ChatTurns]  # provided by services.chat.app
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
        "`delta` (`{text}`) for each new piece of the assistant's text as it is written and "
        "`tool_call` (`{name, arguments, result}`) for each tool call once it ran, in the "
        "order they happen; then `reply` (`{response}`, the reply as stored, to show in place "
        "of the streamed text) and `done` with the JSON answer. A failure ends the stream "
        "with one `error` event (the error envelope). Every answer has at least one `delta`.",
        # The conversation may be missing; the model may fail; the turn's database work is
        # done through the sessionmaker (no ``session`` dependency), so 503 is named here.
        raises=raises(NotFound, LlmUnavailable, ServiceUnavailable),
        responses={
            200: ResponseSpec(
                ChatResponse,
                generate_examples=False,
                description="The assistant's answer (JSON); with `Accept: text/event-stream`, "
                "Server-Sent Events (`delta`, `tool_call`, `reply`, `done`) instead",
            )
        },
    )
    async def chat(
        self,
        request: AuthRequest,
        turns: Turns,
        data: JSONBody[ChatRequest],
        x_timezone: TimeZone = None,
    ) -> ChatResponse | EventStream:
        now = user_now(x_timezone)
        # The assistant acts through the todo tools, as the caller: a token limited to
        # other scopes is refused before anything is stored.
        require_scope(request.auth, TODOS_READ_OR_WRITE)
        authorization = request.headers.get("authorization", "")
        # Started (ownership checked, message stored) before choosing: a missing
        # conversation is a 404 response even when a stream was asked for.
        started = await turns.start(caller(request), data, authorization, now)
        if "text/event-stream" in request.headers.get("accept", ""):
            return stream_turn(started.run)
        return await started.run()

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
