"""`make bench`: authenticated GET /api/v1/todos/{id} through the gateway and directly
against the todos service, under wrk with 64 connections.

Starts its own gateway + todos processes against a fresh database, prints requests/s, p50
and p99 for both and the gateway/direct ratio, and writes them to bench/results/.
The API rate limit is raised for the run: this measures the proxy path, not rejections.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import scratch_environment, write_results  # noqa: E402

from tests.support.processes import start_service  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = os.environ.get("BENCH_THREADS", "2")


def wrk(url: str, token: str) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t", THREADS, "-c", str(CONNECTIONS), "-d", DURATION, "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "requests_per_second": rps,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    with scratch_environment("proxy") as scratch:
        env, work = scratch.env, scratch.work
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
            print(f"warming up, then {DURATION} per target with {CONNECTIONS} connections")
            wrk(gateway.url + path, token)  # warm-up: pools, caches
            direct = wrk(todos.url + path, token)
            through = wrk(gateway.url + path, token)
        finally:
            gateway.stop()
            todos.stop()
    ratio = through["requests_per_second"] / direct["requests_per_second"]
    result = {
        "scenario": "authenticated GET /api/v1/todos/{id}",
        "wrk": {"connections": CONNECTIONS, "threads": THREADS, "duration": DURATION},
        "direct": direct,
        "gateway": through,
        "gateway_to_direct_ratio": round(ratio, 3),
    }
    print(f"{'target':<10}{'req/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, row in (("direct", direct), ("gateway", through)):
        print(
            f"{name:<10}{row['requests_per_second']:>12.0f}{row['p50_ms']:>10.2f}"
            f"{row['p99_ms']:>10.2f}{row['non_2xx']:>10.0f}"
        )
    print(f"gateway / direct = {ratio:.2f}")
    write_results("proxy", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
