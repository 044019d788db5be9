"""Which engine answers: the model engine when OPENAI_API_KEY is set, else the offline one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.chat.engine_api import Engine
from services.chat.model_engine import ModelEngine
from services.chat.offline import OfflineEngine
from services.chat.settings import ChatSettings


@asynccontextmanager
async def open_engine(settings: ChatSettings) -> AsyncIterator[Engine]:
    if not settings.openai_api_key:
        # Deterministic and local: works on a machine without internet or a key.
        yield OfflineEngine()
        return
    engine = ModelEngine(settings)
    try:
        yield engine
    finally:
        await engine.close()
