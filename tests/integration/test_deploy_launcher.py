"""The container's launcher, deploy/serve.sh, against a real PostgreSQL and RabbitMQ: it
waits for the migrations, then serves a process and stops it cleanly (its arguments and
refusals, which need no service, are in tests/unit/test_deploy_image.py)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.launcher import SERVE, launcher_env
from tests.support.processes import ServiceProcess, free_port


def test_launcher_waits_for_migrations_of_a_migrated_database(database_url: str) -> None:
    result = subprocess.run(
        [str(SERVE), "wait-for-migrations"],
        env=launcher_env(DATABASE_URL=database_url, MIGRATIONS_WAIT_SECONDS="30"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every schema is at head" in result.stdout


def test_launcher_serves_todos_and_stops_cleanly_on_sigterm(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = launcher_env(**service_env, SERVICE_NAME="todos", HOST="127.0.0.1", PORT=str(port))
    log_path = tmp_path / "todos.log"
    with log_path.open("wb") as log:
        # Started from elsewhere: the launcher finds the repository by its own path.
        process = subprocess.Popen(
            [str(SERVE), "todos"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = ServiceProcess("todos", port, log_path, process, service_env, own_group=True)
    try:
        deadline = time.monotonic() + 60
        live = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                live = httpx.get(f"{service.url}/health/live", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert live is not None and live.status_code == 200, service.log()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, service.log()
    finally:
        service.stop()
