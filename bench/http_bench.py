"""`make bench` (HTTP): the yardstick, then GET /api/v1/todos/{id} direct and through the
gateway, then the same through the gateway while clients log in continuously.

Starts the yardstick app (``yardstick_app.py``), the todos service and a gateway (granian,
one worker each, as ``make run`` does) against one scratch database, creates one user and
one todo, and drives each target with ``load_generator.py`` (BENCH_CONNECTIONS connections
for BENCH_SECONDS) after a warm-up, in BENCH_ROUNDS interleaved rounds. The API rate
limit is lifted: this measures the paths, not their rejections. Returns every figure;
``run_bench.py`` gives them as ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import CpuMeter, scratch_environment, write_results  # noqa: E402
from yardstick_app import ITEM_ID  # noqa: E402

from tests.support.processes import ServiceProcess, start_service  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
LOGIN_CLIENTS = int(os.environ.get("BENCH_LOGIN_CLIENTS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GENERATOR = Path(__file__).with_name("load_generator.py")


def load(
    url: str, seconds: float, connections: int = CONNECTIONS, **request: Any
) -> subprocess.Popen[str]:
    """Start the load generator on ``url``; :func:`figures` waits for its result."""
    command = [sys.executable, str(GENERATOR), url, "-c", str(connections), "-d", str(seconds)]
    for header in request.get("headers", []):
        command += ["-H", header]
    if "body" in request:
        command += ["-m", "POST", "--body", request["body"]]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def figures(process: subprocess.Popen[str]) -> dict[str, float]:
    output, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    return json.loads(output)


def measure(url: str, headers: list[str], *servers: ServiceProcess) -> dict[str, Any]:
    """Load ``url``; with it, the CPU milliseconds per request of ``servers``, PostgreSQL
    and RabbitMQ (``cpu_ms_per_request``)."""
    figures(load(url, min(3.0, SECONDS), headers=headers))  # warm-up: pools, caches
    meter = CpuMeter({server.name: server.process.pid for server in servers}).start()
    result: dict[str, Any] = figures(load(url, SECONDS, headers=headers))
    result["cpu_ms_per_request"] = meter.per(result["requests"])
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (of an even number, the lower middle one)."""
    ordered = sorted(runs, key=lambda run: run["requests_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def main() -> dict[str, Any]:
    # Every login client uses the same account: its failed-login throttle is lifted too.
    with scratch_environment("http", LOGIN_MAX_FAILURES="100000000") as scratch:
        env, work = scratch.env, scratch.work
        yardstick = start_service("yardstick", "bench.yardstick_app:create_app", env, work)
        todos = start_service("todos", "services.todos.app:create_app", env, work)
        gateway = start_service(
            "gateway", "services.gateway.app:create_app", {**env, "TODOS_URL": todos.url}, work
        )
        try:
            with httpx.Client(base_url=gateway.url) as api:
                creds = {"email": "bench@example.com", "password": "benchmark-password"}
                api.post("/api/v1/auth/register", json=creds).raise_for_status()
                token = api.post("/api/v1/auth/login", json=creds).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                todo = api.post(
                    "/api/v1/todos", json={"title": "benchmark me"}, headers=headers
                ).json()
            path = f"/api/v1/todos/{todo['id']}"
            auth = [f"Authorization: Bearer {token}"]
            print(f"HTTP: {ROUNDS} rounds of {SECONDS:g}s per target, {CONNECTIONS} connections")
            targets = {
                "yardstick": (f"{yardstick.url}/items/{ITEM_ID}", [], [yardstick]),
                "todos_direct": (todos.url + path, auth, [todos]),
                "todos_via_gateway": (gateway.url + path, auth, [gateway, todos]),
            }
            # Rounds interleave the targets, so a slow spell of the machine touches all of
            # them; each target's median round counts (all are kept in "rounds").
            rounds = [
                {
                    name: measure(url, auth_, *servers)
                    for name, (url, auth_, servers) in targets.items()
                }
                for _ in range(ROUNDS)
            ]
            result: dict[str, Any] = {
                name: median_run([run[name] for run in rounds]) for name in targets
            }
            result["rounds"] = rounds
            logins = load(
                gateway.url + "/api/v1/auth/login",
                SECONDS + 2,
                LOGIN_CLIENTS,
                headers=["Content-Type: application/json"],
                body=json.dumps(creds),
            )
            result["todos_via_gateway_during_logins"] = figures(
                load(gateway.url + path, SECONDS, headers=auth)
            )
            result["logins"] = figures(logins)
        finally:
            gateway.stop()
            todos.stop()
            yardstick.stop()
    return result


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome, indent=2))
    write_results("http", outcome)
