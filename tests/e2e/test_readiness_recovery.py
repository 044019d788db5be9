"""Readiness follows the dependencies: 503 while the database or the broker is unreachable,
200 again by itself within seconds of their return, with no restart of the process.

The database outage stops a PostgreSQL cluster of this test's own (the machine's shared
server is never stopped); the broker outage cuts a TCP proxy that only the processes under
test reach RabbitMQ through, so every other client of the broker is untouched.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shared.tokens import TokenIssuer
from tests.support.private_postgres import PrivatePostgres, private_postgres, run_migrations
from tests.support.processes import ServiceProcess, start_service
from tests.support.rabbit import Vhost
from tests.support.stack import JwtKeys
from tests.support.tcp_proxy import TcpProxy

TODOS = "/api/v1/todos"
ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"
RECOVERY_LIMIT = 10.0  # seconds from the dependency's return to /health/ready 200
FACTORIES = {
    "todos": "services.todos.app:create_app",
    "gateway": "services.gateway.app:create_app",
    "contexts": "services.contexts.app:create_app",
    "contexts-worker": "services.contexts.worker.app:create_app",
}


# -- helpers -------------------------------------------------------------------------------
def start_all(
    names: list[str], env: dict[str, str], log_dir: Path, into: list[ServiceProcess]
) -> list[ServiceProcess]:
    """Start the named processes side by side (start-up is mostly imports)."""
    with ThreadPoolExecutor(len(names)) as pool:
        futures = [
            pool.submit(
                start_service, name, FACTORIES[name], {**env, "SERVICE_NAME": name}, log_dir
            )
            for name in names
        ]
        for future in futures:  # every one is awaited, so none is left running unstopped
            if future.exception() is None:
                into.append(future.result())
    for future in futures:
        future.result()  # re-raises a start-up failure
    return into[-len(names) :]


def readiness(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{service.url}/health/ready", timeout=5)
    return response.status_code, response.json()


def wait_ready(services: list[ServiceProcess], status: int, checks: dict[str, bool]) -> float:
    """Wait until every service answers ``status`` with ``checks``; the seconds it took."""
    started_at = time.monotonic()
    for service in services:
        deadline = time.monotonic() + RECOVERY_LIMIT + 20  # fail slowly, measure exactly
        while True:
            code, body = readiness(service)
            if code == status and all(body["checks"].get(k) == v for k, v in checks.items()):
                break
            assert time.monotonic() < deadline, (
                f"{service.name} not {status} {checks}: {code} {body}\n{service.log()[-3000:]}"
            )
            time.sleep(0.1)
    return time.monotonic() - started_at


def worker_pids(service: ServiceProcess) -> list[str]:
    """The PIDs of granian's worker processes (a restart would change them)."""
    found = subprocess.run(
        ["pgrep", "-P", str(service.process.pid)], capture_output=True, text=True, check=False
    )
    return sorted(found.stdout.split())


def assert_unavailable_envelope(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE", error
    assert "Traceback" not in response.text


def bearer(jwt_keys: JwtKeys) -> dict[str, str]:
    issuer = TokenIssuer(jwt_keys.private_pem, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=600)
    return {"Authorization": f"Bearer {issuer.issue(str(uuid.uuid4()))}"}


# -- the database ---------------------------------------------------------------------------
@pytest.fixture
def private_server() -> Iterator[tuple[PrivatePostgres, str]]:
    """A migrated database on a PostgreSQL cluster of this test's own; (cluster, url)."""
    with private_postgres() as server:
        url = server.database_url("tp_outage")
        run_migrations(url)
        yield server, url


def test_readiness_follows_postgres_down_and_back_without_a_restart(
    private_server: tuple[PrivatePostgres, str],
    service_env: dict[str, str],
    tmp_path: Path,
    started: list[ServiceProcess],
) -> None:
    server, url = private_server
    todos, worker = start_all(
        ["todos", "contexts-worker"], {**service_env, "DATABASE_URL": url}, tmp_path, started
    )
    nowhere = "http://127.0.0.1:9"  # chat and contexts are not part of this test
    gateway_env = {**service_env, "DATABASE_URL": url, "TODOS_URL": todos.url,
                   "CHAT_URL": nowhere, "CONTEXTS_URL": nowhere}  # fmt: skip
    (gateway,) = start_all(["gateway"], gateway_env, tmp_path, started)
    services = [todos, worker, gateway]
    wait_ready(services, 200, {"database": True})
    pids = {service.name: worker_pids(service) for service in services}

    account = {"email": f"user-{uuid.uuid4().hex[:10]}@example.com", "password": "correct horse"}
    with httpx.Client(base_url=gateway.url, timeout=10) as api:
        assert api.post("/api/v1/auth/register", json=account).status_code == 201
        login = api.post("/api/v1/auth/login", json=account)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = api.post(TODOS, json={"title": "Survives the outage"}, headers=auth)
        assert created.status_code == 201, created.text
        todo = created.json()

        server.stop()
        outage = wait_ready(services, 503, {"database": False})
        assert outage < RECOVERY_LIMIT, f"readiness noticed the outage only after {outage:.1f}s"
        # Requests that need the database answer 503 in the error envelope, never a bare 500.
        direct = httpx.post(todos.url + TODOS, json={"title": "x"}, headers=auth)
        assert_unavailable_envelope(direct)
        assert_unavailable_envelope(api.get(f"{TODOS}/{todo['id']}", headers=auth))
        assert_unavailable_envelope(api.post("/api/v1/auth/login", json=account))
        for service in services:  # alive: restarting it would not help
            assert httpx.get(f"{service.url}/health/live", timeout=5).status_code == 200

        server.start()
        recovery = wait_ready(services, 200, {"database": True})
        assert recovery <= RECOVERY_LIMIT, f"ready again only {recovery:.1f}s after the restart"
        for service in services:
            assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"
            assert worker_pids(service) == pids[service.name], f"{service.name} was restarted"
        # The same processes serve the API again, and the data from before the outage is there.
        again = api.get(f"{TODOS}/{todo['id']}", headers=auth)
        assert again.status_code == 200, again.text
        assert again.json()["title"] == "Survives the outage"
        assert api.post(TODOS, json={"title": "After the outage"}, headers=auth).status_code == 201
        assert api.post("/api/v1/auth/login", json=account).status_code == 200


# -- the broker -----------------------------------------------------------------------------
@pytest.fixture
def broker_proxy(vhost: Vhost) -> Iterator[TcpProxy]:
    """A proxy to the run's broker. Requested before ``started``, so it outlives the
    processes: they stop with the broker reachable (stopping without it is a test of its
    own, not this one's cleanup)."""
    with TcpProxy(urlsplit(vhost.url).port or 5672) as proxy:
        yield proxy


def test_readiness_follows_the_broker_through_a_cut_connection(
    broker_proxy: TcpProxy,
    service_env: dict[str, str],
    vhost: Vhost,
    jwt_keys: JwtKeys,
    tmp_path: Path,
    started: list[ServiceProcess],
) -> None:
    proxy = broker_proxy
    env = {**service_env, "AMQP_URL": proxy.url_through(vhost.url)}
    contexts, worker, todos = start_all(
        ["contexts", "contexts-worker", "todos"], env, tmp_path, started
    )
    consumers = [contexts, worker]
    # contexts starts its submit consumer in the background: wait for it.
    wait_ready(consumers, 200, {"database": True, "broker": True})
    wait_ready([todos], 200, {"database": True})

    proxy.cut()
    outage = wait_ready(consumers, 503, {"database": True, "broker": False})
    assert outage < RECOVERY_LIMIT, f"readiness noticed the outage only after {outage:.1f}s"
    # todos needs only its database to serve; its events wait in the outbox meanwhile.
    status, body = readiness(todos)
    assert (status, body["checks"]["database"]) == (200, True), body
    created = httpx.post(todos.url + TODOS, json={"title": "x"}, headers=bearer(jwt_keys))
    assert created.status_code == 201, created.text

    proxy.restore()
    recovery = wait_ready(consumers, 200, {"database": True, "broker": True})
    assert recovery <= RECOVERY_LIMIT, f"ready again only {recovery:.1f}s after the broker"
    for service in [*consumers, todos]:
        assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"


def test_sigterm_while_the_broker_is_unreachable_still_stops_the_consumers(
    broker_proxy: TcpProxy,
    service_env: dict[str, str],
    vhost: Vhost,
    tmp_path: Path,
    started: list[ServiceProcess],
) -> None:
    env = {**service_env, "AMQP_URL": broker_proxy.url_through(vhost.url)}
    consumers = start_all(["contexts", "contexts-worker"], env, tmp_path, started)
    wait_ready(consumers, 200, {"database": True, "broker": True})
    broker_proxy.cut()
    wait_ready(consumers, 503, {"database": True, "broker": False})

    for service in consumers:
        service.process.terminate()
    for service in consumers:
        # Without a kill timeout (as here) a shutdown waiting for the broker never ends.
        code = service.process.wait(timeout=20)
        assert code == 0, f"{service.name} exited {code}:\n{service.log()}"
