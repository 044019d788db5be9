"""Wires the todos service: ``granian --interface asgi --factory services.todos.app:create_app``."""

from __future__ import annotations

from litestar.types import ASGIApp

from services.todos.controllers import TodoController
from services.todos.settings import TodosSettings
from shared.auth_middleware import bearer_auth
from shared.service_app import build_app
from shared.settings import load_settings


def create_app() -> ASGIApp:
    settings = load_settings(TodosSettings)
    return build_app(
        settings,
        title="Todos service",
        route_handlers=[TodoController],
        middleware=[bearer_auth()],
    )
