"""Fixtures shared by the whole suite: a fresh database, JWT keys, running services.

Every run creates its own uniquely named database (and drops it at the end), so tests
never touch a development instance running on the same machine.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.settings import REPO_ROOT
from shared.tokens import generate_key_pair
from tests.support.database import admin_execute
from tests.support.database import database_url as scratch_url
from tests.support.full_stack import FullStack, start_full_stack
from tests.support.processes import ServiceProcess, start_service
from tests.support.rabbit import Vhost, scratch_vhost


@dataclass(frozen=True)
class JwtKeys:
    private_path: Path
    public_path: Path
    private_pem: bytes
    public_pem: bytes


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> JwtKeys:
    folder = tmp_path_factory.mktemp("keys")
    private, public = generate_key_pair()
    (folder / "private.pem").write_bytes(private)
    (folder / "public.pem").write_bytes(public)
    return JwtKeys(folder / "private.pem", folder / "public.pem", private, public)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A new, migrated database for this test run, dropped afterwards."""
    name = f"tp_test_{uuid.uuid4().hex[:12]}"
    url = scratch_url(name)
    subprocess.run(
        [sys.executable, "scripts/migrate.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
        capture_output=True,
    )
    yield url
    asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def vhost() -> Iterator[Vhost]:
    """A RabbitMQ vhost of this test run, deleted afterwards."""
    with scratch_vhost("tp_test") as created:
        yield created


@pytest.fixture(scope="session")
def service_env(database_url: str, jwt_keys: JwtKeys, vhost: Vhost) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": vhost.url,
        "JWT_PUBLIC_KEY_FILE": str(jwt_keys.public_path),
        "JWT_PRIVATE_KEY_FILE": str(jwt_keys.private_path),
        "LOG_LEVEL": "INFO",
        "DB_POOL_SIZE": "5",
        "RATE_LIMIT": "100000/minute",
    }


@dataclass
class Stack:
    todos: ServiceProcess
    gateway: ServiceProcess
    log_dir: Path

    def start_gateway(self, **overrides: str) -> ServiceProcess:
        """Another gateway on the same database, with some settings changed."""
        env = {**self.gateway.env, **{k.upper(): v for k, v in overrides.items()}}
        return start_service("gateway", "services.gateway.app:create_app", env, self.log_dir)


@pytest.fixture(scope="session")
def stack(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("logs")
    todos = start_service(
        "todos", "services.todos.app:create_app", {**service_env, "SERVICE_NAME": "todos"}, log_dir
    )
    gateway_env = {
        **service_env,
        "TODOS_URL": todos.url,
        # Nothing listens on these: chat and contexts are "not running".
        "CHAT_URL": "http://127.0.0.1:9",
        "CONTEXTS_URL": "http://127.0.0.1:9",
    }
    try:
        gateway = start_service("gateway", "services.gateway.app:create_app", gateway_env, log_dir)
    except Exception:
        todos.stop()
        raise
    yield Stack(todos=todos, gateway=gateway, log_dir=log_dir)
    gateway.stop()
    todos.stop()


@pytest.fixture(scope="session")
def full_stack(stack: Stack) -> Iterator[FullStack]:
    """Every service behind one gateway (rate limits raised); see tests/support/full_stack."""
    running = start_full_stack(stack)
    yield running
    running.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The API fuzzer (tests/fuzz) is the last stage of a run, whatever the order given."""
    fuzz = REPO_ROOT / "tests" / "fuzz"
    items.sort(key=lambda item: item.path.is_relative_to(fuzz))


@pytest.fixture
def started() -> Iterator[list[ServiceProcess]]:
    """The processes a test started; stopped at its end whatever happened."""
    processes: list[ServiceProcess] = []
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway.url, timeout=10) as client:
        yield client


@dataclass
class User:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


UserFactory = Callable[..., User]


def register_user(
    gateway_url: str, password: str = "correct horse battery", name: str | None = None
) -> User:
    """Register and log in a new user through the gateway (module-scoped fixtures call it
    directly; tests use ``make_user``)."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        body = {"email": email, "password": password, **({"name": name} if name else {})}
        created = client.post("/api/v1/auth/register", json=body)
        assert created.status_code == 201, created.text
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
    tokens = login.json()
    return User(
        created.json()["id"], email, password, tokens["access_token"], tokens["refresh_token"]
    )


@pytest.fixture
def make_user(stack: Stack) -> UserFactory:
    """Register and log in a new user through the gateway."""

    def factory(password: str = "correct horse battery", name: str | None = None) -> User:
        return register_user(stack.gateway.url, password, name)

    return factory
