"""Wires the chat service: ``granian --interface asgi --factory services.chat.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.types import ASGIApp

from services.chat.controllers import ChatController
from services.chat.engines import open_engine
from services.chat.settings import ChatSettings
from services.chat.todos_client import create_session
from shared.auth_middleware import bearer_auth
from shared.service_app import build_app
from shared.settings import load_settings


def create_app() -> ASGIApp:
    settings = load_settings(ChatSettings)

    @asynccontextmanager
    async def clients(app: Litestar) -> AsyncIterator[None]:
        # The pooled HTTP client the tools reach the todos service with, and the engine
        # (the model engine owns the model's HTTP client); both closed at shutdown.
        async with create_session(settings.todos_timeout) as http, open_engine(settings) as engine:
            app.state.todos_http = http
            app.state.chat_engine = engine
            yield

    return build_app(
        settings,
        title="Chat service",
        route_handlers=[ChatController],
        middleware=[bearer_auth()],
        lifespan=[clients],
    )
