"""`make bench`: authenticated GET /api/v1/todos/{id} through the gateway and directly
against the todos service, under wrk with 64 connections.

Starts its own gateway + todos processes against a fresh database, prints requests/s, p50
and p99 for both and the gateway/direct ratio, and writes them to bench/results/.
The API rate limit is raised for the run: this measures the proxy path, not rejections.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared.tokens import generate_key_pair  # noqa: E402
from tests.support.database import admin_execute  # noqa: E402
from tests.support.database import database_url as scratch_url  # noqa: E402
from tests.support.processes import start_service  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = os.environ.get("BENCH_THREADS", "2")
RESULTS = REPO / "bench" / "results"


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
    db_name = f"tp_bench_{uuid.uuid4().hex[:8]}"
    database_url = scratch_url(db_name)
    work = Path(tempfile.mkdtemp(prefix="tp-bench-"))
    private, public = generate_key_pair()
    (work / "private.pem").write_bytes(private)
    (work / "public.pem").write_bytes(public)
    env = {
        "DATABASE_URL": database_url,
        "JWT_PRIVATE_KEY_FILE": str(work / "private.pem"),
        "JWT_PUBLIC_KEY_FILE": str(work / "public.pem"),
        "RATE_LIMIT": "100000000/minute",
    }
    subprocess.run(
        [sys.executable, "scripts/migrate.py"], cwd=REPO, env={**os.environ, **env}, check=True
    )
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
            todo = api.post("/api/v1/todos", json={"title": "benchmark me"}, headers=headers).json()
        path = f"/api/v1/todos/{todo['id']}"
        print(f"warming up, then {DURATION} per target with {CONNECTIONS} connections")
        wrk(gateway.url + path, token)  # warm-up: pools, caches
        direct = wrk(todos.url + path, token)
        through = wrk(gateway.url + path, token)
    finally:
        gateway.stop()
        todos.stop()
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    ratio = through["requests_per_second"] / direct["requests_per_second"]
    result = {
        "scenario": "authenticated GET /api/v1/todos/{id}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"proxy-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"results written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
