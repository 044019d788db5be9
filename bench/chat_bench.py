"""`make bench`: one chat turn with the offline engine, through the gateway.

Starts its own todos, chat (no API key: the offline engine) and gateway processes against a
fresh database, then has BENCH_CHAT_CONNECTIONS clients each send "what's pending?" in
their own conversation (ten todos to list, so each turn runs a tool call against the todos
service and stores three messages) for BENCH_CHAT_SECONDS. Prints turns/s, p50 and p99 and
writes them to bench/results/. The driver is an aiohttp client in this process: a turn
costs milliseconds, far above what the client adds. The API rate limit is lifted.

With it, where a turn's CPU goes (each process, PostgreSQL, RabbitMQ), and the MCP
yardstick: the SDK's client calling the SDK's server alone (``mcp_yardstick_app.py``),
what one tool call costs before the product does anything.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import LATEST_PROTOCOL_VERSION

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import CpuMeter, scratch_environment, write_results  # noqa: E402

from tests.support.processes import start_service  # noqa: E402

SECONDS = float(os.environ.get("BENCH_CHAT_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CHAT_CONNECTIONS", "8"))
MESSAGE = "what's pending?"


async def client_loop(
    session: aiohttp.ClientSession, url: str, token: str, deadline: float
) -> tuple[list[float], int]:
    """Turns of one client in one conversation until ``deadline``: (latencies ms, failures)."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    failures = 0
    conversation_id = None
    while time.monotonic() < deadline:
        body: dict[str, object] = {"message": MESSAGE}
        if conversation_id:
            body["conversation_id"] = conversation_id
        started = time.perf_counter()
        async with session.post(url, json=body, headers=headers) as response:
            answer = await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            failures += 1
            continue
        conversation_id = json.loads(answer)["conversation_id"]
    return latencies, failures


async def drive(url: str, token: str, seconds: float) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        runs = await asyncio.gather(
            *(client_loop(session, url, token, deadline) for _ in range(CONNECTIONS))
        )
        elapsed = time.monotonic() - started
    latencies = sorted(ms for run, _ in runs for ms in run)
    failures = sum(failed for _, failed in runs)
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "turns": float(len(latencies)),
        "turns_per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentiles[98],
        "non_2xx": float(failures),
    }


async def mcp_client_loop(url: str, deadline: float) -> int:
    """One client's calls of the MCP yardstick's tool in one open session until ``deadline``."""
    calls = 0
    async with Client(streamable_http_client(url), mode=LATEST_PROTOCOL_VERSION) as client:
        await client.list_tools()  # the session learns the output schema it checks against
        while time.monotonic() < deadline:
            result = await client.call_tool("list_items", {})
            if result.is_error or not result.structured_content:
                raise RuntimeError(f"the MCP yardstick's tool failed: {result}")
            calls += 1
    return calls


async def drive_mcp(url: str, seconds: float) -> dict[str, float]:
    started = time.monotonic()
    deadline = started + seconds
    runs = await asyncio.gather(*(mcp_client_loop(url, deadline) for _ in range(CONNECTIONS)))
    elapsed = time.monotonic() - started
    return {"calls": float(sum(runs)), "calls_per_second": sum(runs) / elapsed}


def mcp_yardstick(env: dict[str, str], work: Path) -> dict[str, Any]:
    """The SDK alone: ``bench/mcp_yardstick_app.py`` called by the SDK's client."""
    server = start_service("mcp-yardstick", "bench.mcp_yardstick_app:create_app", env, work)
    try:
        url = server.url + "/mcp"
        asyncio.run(drive_mcp(url, min(3.0, SECONDS)))  # warm-up
        meter = CpuMeter({"server": server.process.pid}, this_process=True).start()
        result: dict[str, Any] = asyncio.run(drive_mcp(url, SECONDS))
        result["cpu_ms_per_call"] = meter.per(result["calls"])
    finally:
        server.stop()
    print(
        f"MCP alone: {result['calls_per_second']:.0f} tool calls/s; CPU per call (ms): "
        f"{result['cpu_ms_per_call']}"
    )
    return result


def main() -> dict[str, Any]:
    # OPENAI_API_KEY empty: the offline engine.
    with scratch_environment("chat", OPENAI_API_KEY="", LOG_LEVEL="WARNING") as scratch:
        env, work = scratch.env, scratch.work
        todos = start_service("todos", "services.todos.app:create_app", env, work)
        chat = start_service(
            "chat", "services.chat.app:create_app", {**env, "TODOS_URL": todos.url}, work
        )
        gateway = start_service(
            "gateway",
            "services.gateway.app:create_app",
            {**env, "TODOS_URL": todos.url, "CHAT_URL": chat.url},
            work,
        )
        try:
            with httpx.Client(base_url=gateway.url, timeout=30) as api:
                creds = {"email": "chat-bench@example.com", "password": "benchmark-password"}
                api.post("/api/v1/auth/register", json=creds).raise_for_status()
                token = api.post("/api/v1/auth/login", json=creds).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                for n in range(10):
                    todo = {"title": f"benchmark task {n}"}
                    api.post("/api/v1/todos", json=todo, headers=headers).raise_for_status()
            url = gateway.url + "/api/v1/chat"
            print(f"warming up, then {SECONDS:g}s of chat turns with {CONNECTIONS} clients")
            asyncio.run(drive(url, token, min(3.0, SECONDS)))  # warm-up: pools, caches
            services = {"chat": chat, "todos": todos, "gateway": gateway}
            meter = CpuMeter({name: s.process.pid for name, s in services.items()}).start()
            result: dict[str, Any] = asyncio.run(drive(url, token, SECONDS))
            result["cpu_ms_per_turn"] = meter.per(result["turns"])
        finally:
            gateway.stop()
            chat.stop()
            todos.stop()
        mcp_alone = mcp_yardstick(env, work)
    report = {
        "scenario": f"POST /api/v1/chat {MESSAGE!r} (offline engine) through the gateway",
        "clients": CONNECTIONS,
        "seconds": SECONDS,
        "result": result,
        "mcp_yardstick": mcp_alone,
    }
    print(f"{'turns':>8}{'turns/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    print(
        f"{result['turns']:>8.0f}{result['turns_per_second']:>10.1f}{result['p50_ms']:>10.1f}"
        f"{result['p99_ms']:>10.1f}{result['non_2xx']:>10.0f}"
    )
    print(f"CPU per turn (ms): {result['cpu_ms_per_turn']}")
    return report


if __name__ == "__main__":
    write_results("chat", main())
