"""Fixtures shared by the whole suite: a fresh database, JWT keys, running services.

Every run creates its own uniquely named database (and drops it at the end), so tests
never touch a development instance running on the same machine.

Fixtures only: the types and helpers tests share are in tests/support/ (no test module
imports another, nor a conftest). Each test is marked by its folder (``unit``,
``integration``, ``e2e``; see ``pytest_collection_modifyitems``), and no fixture here is
autouse: a unit test reaches no service.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

# The helpers in tests/support assert like the tests do: pytest rewrites their asserts (a
# failing one shows its values), which needs them registered before their first import.
pytest.register_assert_rewrite("tests.support")

from shared.settings import REPO_ROOT  # noqa: E402
from shared.tokens import generate_key_pair  # noqa: E402
from tests.support.database import admin_execute  # noqa: E402
from tests.support.database import database_url as scratch_url  # noqa: E402
from tests.support.full_stack import FullStack, start_full_stack  # noqa: E402
from tests.support.processes import ServiceProcess, start_service  # noqa: E402
from tests.support.rabbit import Vhost, scratch_vhost  # noqa: E402
from tests.support.stack import JwtKeys, Stack, User, UserFactory, register_user  # noqa: E402


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
        # The suite registers and logs in hundreds of users one after the other: hashing is
        # not paced here (its pace is a unit test's, and the login storm a benchmark's).
        "PASSWORD_HASHING_SHARE": "1",
    }


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


# The folder a test sits in says what it needs, and gives it its markers (`pytest -m unit`):
# unit needs no running service, integration needs PostgreSQL and RabbitMQ, e2e needs the
# services running as processes (the API fuzzer too: it is also marked `fuzz`).
FOLDER_MARKERS = {
    "unit": ("unit",),
    "integration": ("integration",),
    "e2e": ("e2e",),
    "fuzz": ("e2e", "fuzz"),
}
# The fixtures that reach PostgreSQL or RabbitMQ (``service_env``, ``stack`` and the
# fixtures built on them ask for these): a unit test must not ask for one.
SERVICE_FIXTURES = {"database_url", "vhost"}


@pytest.hookimpl(tryfirst=True)  # the markers are set before `-m` selects by them
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by its folder (a unit test that needs a running service is an error),
    and make the API fuzzer (tests/fuzz) the last stage of a run, whatever the order given."""
    tests = REPO_ROOT / "tests"
    for item in items:
        if not item.path.is_relative_to(tests):
            continue
        folder = item.path.relative_to(tests).parts[0]
        for marker in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(marker)
        needs = SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if folder == "unit" and needs:
            raise pytest.UsageError(
                f"{item.nodeid} needs a running service ({', '.join(sorted(needs))}): "
                "a unit test must not; move it to tests/integration"
            )
    fuzz = tests / "fuzz"
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


@pytest.fixture
def make_user(stack: Stack) -> UserFactory:
    """Register and log in a new user through the gateway."""

    def factory(password: str = "correct horse battery", name: str | None = None) -> User:
        return register_user(stack.gateway.url, password, name)

    return factory
