"""The chat service in end-to-end tests: starting it (offline or model engine) behind a
gateway of its own on the root ``stack``, and calling it as a user.

The fixtures (``chat_gateway``, ``model_chat``...) are in tests/e2e/chat/conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.openai_server import OpenAIServer, Reply, scripted
from tests.support.processes import ServiceProcess, start_service

if TYPE_CHECKING:
    from tests.support.stack import Stack, User

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


@dataclass
class ModelChat(ChatGateway):
    model: OpenAIServer

    def script(self, *replies: Reply) -> None:
        """The model's next answers, in order (the last one repeats)."""
        self.model.handler = scripted(*replies)
        self.model.requests.clear()


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
