"""Fixtures of the chat end-to-end tests: chat processes (offline or model engine) behind
their own gateway, on the root ``stack``'s database and todos service.

- ``chat_gateway``: the offline engine (no API key), as ``make run`` starts it.
- ``model_chat``: the model engine against a local OpenAI-compatible server
  (``tests/support/openai_server``); each test scripts the model with ``model.script(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.openai_server import OpenAIServer, Reply, scripted, text_reply
from tests.support.processes import ServiceProcess, start_service

if TYPE_CHECKING:
    from tests.conftest import Stack, User

CHAT = "/api/v1/chat"
CONVERSATIONS = "/api/v1/chat/conversations"
# Short model timeouts and no retries keep the failure tests quick.
MODEL_ENV = {
    "LLM_TIMEOUT_SECONDS": "2",
    "LLM_MAX_RETRIES": "0",
    "CHAT_TURN_TIMEOUT_SECONDS": "3",
    "TODOS_TIMEOUT": "1",  # tool calls start only while this much of the turn is left
    "CHAT_MODEL": "test-model",
}


def start_chat(stack: Stack, **env: str) -> ServiceProcess:
    """A chat process on the test database, its tools pointed at the stack's todos."""
    full_env = {
        **stack.todos.env,
        "SERVICE_NAME": "chat",
        "TODOS_URL": stack.todos.url,
        "OPENAI_API_KEY": "",
        **{key.upper(): value for key, value in env.items()},
    }
    return start_service("chat", "services.chat.app:create_app", full_env, stack.log_dir)


@dataclass
class ChatGateway:
    """A chat process and a gateway routing ``/api/v1/chat*`` to it; ``url`` is the gateway."""

    chat: ServiceProcess
    gateway: ServiceProcess

    @property
    def url(self) -> str:
        return self.gateway.url

    def stop(self) -> None:
        self.gateway.stop()
        self.chat.stop()


def start_chat_gateway(stack: Stack, **env: str) -> ChatGateway:
    chat = start_chat(stack, **env)
    try:
        gateway = stack.start_gateway(chat_url=chat.url)
    except Exception:
        chat.stop()
        raise
    return ChatGateway(chat, gateway)


@pytest.fixture(scope="session")
def chat_gateway(stack: Stack) -> Iterator[ChatGateway]:
    """The chat service with the offline engine, behind a gateway."""
    started = start_chat_gateway(stack)
    yield started
    started.stop()


@dataclass
class ModelChat(ChatGateway):
    model: OpenAIServer

    def script(self, *replies: Reply) -> None:
        """The model's next answers, in order (the last one repeats)."""
        self.model.handler = scripted(*replies)
        self.model.requests.clear()


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


def send(
    base_url: str,
    user: User,
    message: str,
    conversation_id: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20,
) -> httpx.Response:
    """``POST /api/v1/chat`` as ``user``."""
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return httpx.post(
        base_url + CHAT,
        json=body,
        headers={**user.headers, **(headers or {})},
        timeout=timeout,
    )


def turn(base_url: str, user: User, message: str, conversation_id: str | None = None) -> Any:
    """A turn that must succeed; its JSON answer."""
    response = send(base_url, user, message, conversation_id)
    assert response.status_code == 200, response.text
    return response.json()


def conversation(base_url: str, user: User, conversation_id: str, **params: Any) -> Any:
    response = httpx.get(
        f"{base_url}{CONVERSATIONS}/{conversation_id}", params=params, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def todos_of(base_url: str, user: User, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        base_url + "/api/v1/todos", params={"limit": 100, **params}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]
