"""SIGTERM drains an HTTP process: it stops accepting connections, lets the requests in
flight finish, runs the app's shutdown (closing its pools) and exits 0; a request slower
than the grace period (granian's ``--workers-kill-timeout``) is cut when it runs out.

The slow request is a chat turn whose model (``tests/support/openai_server``) answers late,
so a test knows exactly when a request is in flight: once the model has been asked.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.tokens import TokenIssuer
from tests.support.openai_server import OpenAIServer, delayed, scripted, text_reply
from tests.support.processes import ServiceProcess, start_service
from tests.support.stack import JwtKeys, Stack

CHAT = "/api/v1/chat"
CHAT_FACTORY = "services.chat.app:create_app"
GATEWAY_FACTORY = "services.gateway.app:create_app"
ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"
REPLY = "Here is my answer, sent while the process was stopping."
MODEL_DELAY = 2.0  # seconds the model takes: the window in which a request is in flight
EXIT_MARGIN = 3.0  # seconds allowed between the last response and the process's exit


# -- helpers -------------------------------------------------------------------------------
class InFlight:
    """A ``POST`` sent from a thread of its own, so the test can act while it waits."""

    def __init__(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self.finished_at = 0.0
        self._thread = threading.Thread(target=self._send, args=(url, headers, body))
        self._thread.daemon = True
        self._thread.start()

    def _send(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        try:
            self.response = httpx.post(url, json=body, headers=headers, timeout=60)
        except Exception as exc:  # the test asserts on it
            self.error = exc
        self.finished_at = time.monotonic()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert self.done, f"the request did not finish within {timeout}s"

    def result(self, timeout: float) -> httpx.Response:
        self.wait(timeout)
        if self.error is not None:
            raise AssertionError(f"the request in flight failed: {self.error!r}")
        assert self.response is not None
        return self.response


@pytest.fixture
def auth(jwt_keys: JwtKeys) -> dict[str, str]:
    """A bearer token of a new user (chat needs no account row, only a valid token)."""
    issuer = TokenIssuer(jwt_keys.private_pem, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=600)
    return {"Authorization": f"Bearer {issuer.issue(str(uuid.uuid4()))}"}


def start_chat(
    service_env: dict[str, str], model: OpenAIServer, log_dir: Path, stack: Stack, **env: str
) -> ServiceProcess:
    """A chat process on the run's database whose model is ``model`` (no retries)."""
    full_env = {
        **service_env,
        "SERVICE_NAME": "chat",
        "TODOS_URL": stack.todos.url,  # the model is given the tools the todos service lists
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": model.base_url,
        "CHAT_MODEL": "test-model",
        "LLM_MAX_RETRIES": "0",
        **env,
    }
    return start_service("chat", CHAT_FACTORY, full_env, log_dir)


def wait_asked(model: OpenAIServer, timeout: float = 20) -> None:
    """Until the model has received a request (the chat turn is in flight)."""
    deadline = time.monotonic() + timeout
    while not model.requests:
        assert time.monotonic() < deadline, "the model was never asked"
        time.sleep(0.02)


def refuses_connections(service: ServiceProcess) -> bool:
    try:
        httpx.get(f"{service.url}/health/live", timeout=1)
    except httpx.ConnectError:
        return True
    return False


def wait_refusing(service: ServiceProcess, timeout: float) -> float:
    """Seconds until new connections to ``service`` are refused."""
    started_at = time.monotonic()
    while not refuses_connections(service):
        assert time.monotonic() - started_at < timeout, f"{service.name} still accepts"
        time.sleep(0.05)
    return time.monotonic() - started_at


def assert_clean_shutdown_log(service: ServiceProcess) -> None:
    """granian stopped its worker without killing it, so the worker ran the app's lifespan
    shutdown (pools closed) before exiting; and nothing failed on the way."""
    entries = [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]
    messages = [entry["msg"] for entry in entries]
    assert "Stopping worker-1" in messages and "Stopped worker-1" in messages, messages
    # granian exits 0 even when it had to kill its worker: only this line tells.
    assert "Killing worker-1 after it refused to gracefully stop" not in messages, messages
    assert "Granian shutdown completed, see ya!" in messages, messages
    failures = [e for e in entries if e["level"] in ("error", "critical") or "exc" in e]
    assert not failures, failures
    assert "Traceback" not in service.log()


async def stored_messages(database_url: str, conversation_id: str) -> list[tuple[str, str]]:
    url = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = await conn.fetch(
            "SELECT m.role, m.content FROM chat.messages m "
            "JOIN chat.conversations c ON c.id = m.conversation_id "
            "WHERE c.id = $1 ORDER BY m.seq",
            uuid.UUID(conversation_id),
        )
    finally:
        await conn.close()
    return [(row["role"], row["content"]) for row in rows]


# -- the tests -------------------------------------------------------------------------------
def test_sigterm_finishes_the_chat_turn_in_flight_then_exits_cleanly(
    service_env: dict[str, str],
    auth: dict[str, str],
    tmp_path: Path,
    started: list[ServiceProcess],
    stack: Stack,
) -> None:
    with OpenAIServer(scripted(delayed(MODEL_DELAY, text_reply(REPLY)))) as model:
        chat = start_chat(service_env, model, tmp_path, stack)
        started.append(chat)
        turn = InFlight(chat.url + CHAT, auth, {"message": "Plan my week, please"})
        wait_asked(model)
        chat.process.send_signal(signal.SIGTERM)

        # New connections are refused at once, while the turn is still being answered.
        refused_after = wait_refusing(chat, timeout=MODEL_DELAY / 2)
        assert not turn.done, f"the turn ended before the check ({refused_after:.2f}s)"

        response = turn.result(timeout=20)
        assert response.status_code == 200, response.text
        assert response.json()["response"] == REPLY
        exit_code = chat.process.wait(timeout=EXIT_MARGIN + 10)
        exited_after = time.monotonic() - turn.finished_at

    assert exit_code == 0, chat.log()
    assert exited_after < EXIT_MARGIN, f"exited {exited_after:.1f}s after the last response"
    assert_clean_shutdown_log(chat)
    # The turn was committed before the process went: the question and the answer.
    conversation_id = response.json()["conversation_id"]
    messages = asyncio.run(stored_messages(service_env["DATABASE_URL"], conversation_id))
    assert messages == [("user", "Plan my week, please"), ("assistant", REPLY)]


def test_sigterm_to_the_gateway_lets_a_proxied_request_finish(
    service_env: dict[str, str],
    auth: dict[str, str],
    tmp_path: Path,
    started: list[ServiceProcess],
    stack: Stack,
) -> None:
    with OpenAIServer(scripted(delayed(MODEL_DELAY, text_reply(REPLY)))) as model:
        chat = start_chat(service_env, model, tmp_path, stack)
        started.append(chat)
        nowhere = "http://127.0.0.1:9"  # todos and contexts are not part of this test
        gateway_env = {**service_env, "CHAT_URL": chat.url, "TODOS_URL": nowhere,
                       "CONTEXTS_URL": nowhere}  # fmt: skip
        gateway = start_service("gateway", GATEWAY_FACTORY, gateway_env, tmp_path)
        started.append(gateway)
        turn = InFlight(gateway.url + CHAT, auth, {"message": "Anything due today?"})
        wait_asked(model)
        gateway.process.send_signal(signal.SIGTERM)

        refused_after = wait_refusing(gateway, timeout=MODEL_DELAY / 2)
        assert not turn.done, f"the request ended before the check ({refused_after:.2f}s)"
        response = turn.result(timeout=20)
        assert response.status_code == 200, response.text
        assert response.json()["response"] == REPLY
        exit_code = gateway.process.wait(timeout=EXIT_MARGIN + 10)

    assert exit_code == 0, gateway.log()
    assert_clean_shutdown_log(gateway)
    assert chat.process.poll() is None  # only the gateway was stopped


def test_a_request_slower_than_the_grace_period_is_cut_when_it_ends(
    service_env: dict[str, str],
    auth: dict[str, str],
    tmp_path: Path,
    started: list[ServiceProcess],
    stack: Stack,
) -> None:
    grace = 2
    with OpenAIServer(scripted(delayed(30, text_reply(REPLY)))) as model:
        # GRANIAN_WORKERS_KILL_TIMEOUT is granian's --workers-kill-timeout (its CLI reads
        # every option from GRANIAN_*), what deploy/serve.sh sets from SHUTDOWN_GRACE_SECONDS.
        chat = start_chat(
            service_env, model, tmp_path, stack,
            GRANIAN_WORKERS_KILL_TIMEOUT=str(grace),
            LLM_TIMEOUT_SECONDS="60", CHAT_TURN_TIMEOUT_SECONDS="60",
        )  # fmt: skip
        started.append(chat)
        turn = InFlight(chat.url + CHAT, auth, {"message": "Take your time"})
        wait_asked(model)
        signalled_at = time.monotonic()
        chat.process.send_signal(signal.SIGTERM)
        chat.process.wait(timeout=grace + 10)
        gone_after = time.monotonic() - signalled_at

    assert gone_after < grace + EXIT_MARGIN, f"gone only {gone_after:.1f}s after SIGTERM"
    assert gone_after >= grace - 0.5, f"killed after {gone_after:.1f}s, before the grace period"
    assert "Killing worker-1 after it refused to gracefully stop" in chat.log()
    # The client sees its connection end without an answer when the worker is killed.
    turn.wait(timeout=10)
    assert isinstance(turn.error, httpx.TransportError), (turn.error, turn.response)
