"""Fixtures of the chat end-to-end tests: chat processes (offline or model engine) behind
their own gateway, on the root ``stack``'s database and todos service.

- ``chat_gateway``: the offline engine (no API key), as ``make run`` starts it.
- ``model_chat``: the model engine against a local OpenAI-compatible server
  (``tests/support/openai_server``); each test scripts the model with ``model.script(...)``.

The helpers that start and call chat are in tests/support/chat.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.chat import MODEL_ENV, ChatGateway, ModelChat, start_chat_gateway
from tests.support.openai_server import OpenAIServer, scripted, text_reply

if TYPE_CHECKING:
    from tests.support.stack import Stack


@pytest.fixture(scope="session")
def chat_gateway(stack: Stack) -> Iterator[ChatGateway]:
    """The chat service with the offline engine, behind a gateway."""
    started = start_chat_gateway(stack)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def model_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(scripted(text_reply("OK"))) as server:
        yield server


@pytest.fixture(scope="session")
def model_chat_session(stack: Stack, model_server: OpenAIServer) -> Iterator[ModelChat]:
    started = start_chat_gateway(
        stack, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=model_server.base_url, **MODEL_ENV
    )
    yield ModelChat(started.chat, started.gateway, model_server)
    started.stop()


@pytest.fixture
def model_chat(model_chat_session: ModelChat) -> ModelChat:
    """The chat service with the model engine, behind a gateway; the model answers "OK"."""
    model_chat_session.script(text_reply("OK"))
    return model_chat_session
