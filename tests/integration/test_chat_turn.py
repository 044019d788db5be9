"""The stateless turn against a real, freshly migrated ``chat`` schema.

The engines here are small implementations of the ``Engine`` protocol that look at the
database while they run; their tool calls carry arguments that are not JSON on purpose, so
the toolbox answers them itself without a todos service.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.chat import conversations
from services.chat.engine_api import Engine, Toolbox, Turn
from services.chat.errors import LlmUnavailable
from services.chat.schemas import ChatRequest
from services.chat.settings import ChatSettings
from services.chat.todo_tools import TodoTools
from services.chat.toolbox import UNPARSED, TurnToolbox
from services.chat.turn import ChatTurns
from shared.errors import NotFound, ServiceUnavailable
from shared.settings import REPO_ROOT
from tests.support.database import scratch_database

MIGRATIONS = REPO_ROOT / "services" / "chat" / "migrations"
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2030, 1, 1, tzinfo=UTC)
NO_TODOS = "http://127.0.0.1:9"  # nothing listens there


@pytest.fixture(scope="module")
async def sessions() -> AsyncIterator[Sessions]:
    async with scratch_database("test_chat", MIGRATIONS) as url:
        engine = create_async_engine(url, pool_size=3)
        yield async_sessionmaker(engine, expire_on_commit=False)
        await engine.dispose()


@pytest.fixture
async def http() -> AsyncIterator[TodoTools]:
    tools = TodoTools(NO_TODOS, timeout=2.0)
    async with tools.lifespan():
        yield tools


async def stored(sessions: Sessions, user: uuid.UUID, conversation_id: uuid.UUID) -> list[str]:
    async with sessions() as session:
        detail = await conversations.get_conversation(session, user, conversation_id, None, 100)
    return [f"{m.role}:{m.content or m.tool_name}" for m in detail.messages]


async def say(
    sessions: Sessions,
    engine: Engine,
    http: TodoTools,
    user: uuid.UUID,
    message: str,
    conversation_id: uuid.UUID | None = None,
    window: int = 20,
):
    settings = ChatSettings(todos_url=NO_TODOS, chat_history_window=window)
    turns = ChatTurns(settings, sessions.kw["bind"], http, engine)
    request = ChatRequest(message=message, conversation_id=conversation_id)
    started = await turns.start(user, request, "Bearer none", NOW)
    return await started.run()


class Echo:
    """Answers with what it saw: the history and the new message."""

    async def run(self, turn: Turn, tools: Toolbox) -> str:
        return " | ".join([*(f"{m.role}:{m.content}" for m in turn.history), turn.message])


async def test_the_users_message_is_committed_before_the_engine_runs(sessions, http):
    user, seen = uuid.uuid4(), []

    class Peeker:
        async def run(self, turn: Turn, tools: Toolbox) -> str:
            async with sessions() as other:  # another connection: sees committed rows only
                page = await conversations.list_conversations(other, user, None, 10)
                [conversation] = page.items
                detail = await conversations.get_conversation(
                    other, user, conversation.id, None, 10
                )
                seen.extend(m.content for m in detail.messages)
            return "ok"

    await say(sessions, Peeker(), http, user, "remember me")
    assert seen == ["remember me"]


async def test_history_is_the_earlier_messages_in_order_and_bounded(sessions, http):
    user = uuid.uuid4()
    first = await say(sessions, Echo(), http, user, "one")
    assert first.response == "one"
    second = await say(sessions, Echo(), http, user, "two", first.conversation_id)
    assert second.response == "user:one | assistant:one | two"
    third = await say(sessions, Echo(), http, user, "three", first.conversation_id, window=2)
    assert third.response == "user:two | assistant:user:one | assistant:one | two | three"


async def test_a_failing_engine_keeps_the_message_and_the_tool_calls_made(sessions, http):
    user = uuid.uuid4()

    class Failing:
        async def run(self, turn: Turn, tools: Toolbox) -> str:
            result = await tools.call("complete_task", {UNPARSED: "{task"})
            assert "not valid JSON" in result["error"]
            raise LlmUnavailable()

    with pytest.raises(LlmUnavailable) as raised:
        await say(sessions, Failing(), http, user, "finish task minus one")
    conversation_id = uuid.UUID(raised.value.details["conversation_id"])
    assert await stored(sessions, user, conversation_id) == [
        "user:finish task minus one",
        "tool:complete_task",
    ]


async def test_the_engine_and_the_toolbox_keep_the_turns_one_deadline(sessions, http):
    seen: dict[str, float | None] = {}

    class Clock:
        async def run(self, turn: Turn, tools: Toolbox) -> str:
            assert isinstance(tools, TurnToolbox)
            seen.update(deadline=turn.deadline, start_until=tools.start_until, at=loop.time())
            return "ok"

    loop = asyncio.get_running_loop()
    await say(sessions, Clock(), http, uuid.uuid4(), "what time is it?")
    settings = ChatSettings()
    deadline, at = seen["deadline"], seen["at"]
    assert deadline is not None and at is not None
    assert seen["start_until"] == deadline - settings.todos_timeout
    assert 0 < deadline - at <= settings.chat_turn_timeout_seconds


async def test_another_users_conversation_is_not_found_and_untouched(sessions, http):
    owner, intruder = uuid.uuid4(), uuid.uuid4()
    answer = await say(sessions, Echo(), http, owner, "mine")
    with pytest.raises(NotFound):
        await say(sessions, Echo(), http, intruder, "let me in", answer.conversation_id)
    assert await stored(sessions, owner, answer.conversation_id) == ["user:mine", "assistant:mine"]


async def test_an_unreachable_todos_service_is_an_outage_not_a_tool_error(http):
    async with http.session("Bearer none", "UTC", str(uuid.uuid4())) as session:
        toolbox = TurnToolbox(session)
        with pytest.raises(ServiceUnavailable):
            await toolbox.call("list_tasks", {})
        with pytest.raises(ServiceUnavailable):
            await toolbox.listed()
    assert toolbox.calls == []  # nothing ran: nothing to record
