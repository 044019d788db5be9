"""Wires the chat service: ``granian --interface asgi --factory services.chat.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import ASGIApp

from services.chat.controllers import ChatController
from services.chat.engines import open_engine
from services.chat.settings import ChatSettings
from services.chat.todo_tools import TodoTools
from services.chat.turn import ChatTurns
from shared.platform import DatabasePlugin, ServicePlugin, serve
from shared.settings import load_settings


def create_app() -> ASGIApp:
    settings = load_settings(ChatSettings)
    database = DatabasePlugin(settings)

    @asynccontextmanager
    async def chat_turns(app: Litestar) -> AsyncIterator[None]:
        # The todos service's MCP tools (a pooled HTTP transport) and the engine (the model
        # engine owns the model's HTTP client); both closed at shutdown. The database
        # plugin's lifespan runs first, so its engine exists already.
        tools = TodoTools(settings.todos_url, settings.todos_timeout)
        async with tools.lifespan(), open_engine(settings) as engine:
            app.state.chat_turns = ChatTurns(settings, database.engine, tools, engine)
            yield

    def provide_turns(state: State) -> ChatTurns:
        turns: ChatTurns = state.chat_turns
        return turns

    app = Litestar(
        route_handlers=[ChatController],
        plugins=[ServicePlugin(settings, title="Chat service"), database],
        lifespan=[chat_turns],
        dependencies={"turns": Provide(provide_turns, sync_to_thread=False)},
    )
    return serve(app)
