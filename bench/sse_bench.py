"""Live event stream: 1,000 open `GET /api/v1/events` streams on one gateway process.

Starts the todos service and one gateway (granian, one worker, uvloop, as the other
benchmarks) against a scratch database and RabbitMQ vhost, the API rate limit lifted.
The per-user stream cap keeps its default (5): BENCH_SSE_CONNECTIONS streams (1,000) are
spread over enough users, BENCH_SSE_PER_USER each (5: 200 users; above 5 the cap is raised
to it), each opened with its user's access token (minted with the run's key). One aiohttp
client in this process reads every stream line by line. Granian admits 1,024 connections
per worker (its backpressure, idle keep-alive ones included; more wait unanswered): above
1,000 streams GRANIAN_BACKPRESSURE is raised for the gateway. Figures:

- memory: the gateway's resident set (VmRSS of granian and its worker, /proc) after a
  warm-up with no stream open, with all open, after closing them and after opening them
  all again (memory reused or leaked?); (open - before) / streams per connection;
- delay: BENCH_SSE_CHANGES (200) todo creations, POST /api/v1/todos through the gateway,
  BENCH_SSE_PARALLEL at a time (1: one after the other), by the users in turn. Each is
  matched to its event by its X-Request-ID (the event's correlation id) and timed on EVERY
  open stream of its user, from just before the request is sent to when the event's frame
  has been read (its closing blank line): p50/p99/max over all (change, stream) pairs, and
  per change until the last of its user's streams had it;
- missed: (change, stream) pairs without the event within 5 s (must be 0); misdelivered:
  events read on another user's stream; duplicates; streams that ended early.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import CpuMeter, process_tree, scratch_environment, write_results  # noqa: E402

from shared.tokens import TokenIssuer  # noqa: E402
from tests.support.processes import start_service  # noqa: E402
from tests.support.rabbit import scratch_vhost  # noqa: E402

CONNECTIONS = int(os.environ.get("BENCH_SSE_CONNECTIONS", "1000"))
PER_USER = int(os.environ.get("BENCH_SSE_PER_USER", "5"))  # the gateway's default cap
CHANGES = int(os.environ.get("BENCH_SSE_CHANGES", "200"))
PARALLEL = int(os.environ.get("BENCH_SSE_PARALLEL", "1"))
OPENING = 50  # streams being opened at once
EVENT_TIMEOUT = 5.0  # after this, an event not read on a stream counts as missed
SETTLE = 2.0  # seconds before reading the resident set


def rss_mib(pid: int) -> float:
    """The resident set of a process and its descendants (granian and its worker)."""
    total = 0
    for member in process_tree(pid):
        status = Path(f"/proc/{member}/status").read_text()
        total += int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
    return total / 1024


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:  # (every event missed)
        return dict.fromkeys(("p50_ms", "p99_ms", "max_ms"), max(values, default=float("nan")))
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    return {"p50_ms": round(statistics.median(values), 2), "p99_ms": round(p99, 2),
            "max_ms": round(max(values), 2)}  # fmt: skip


class Streams:
    """Open streams, keyed by a number; when each read each event (by correlation id)."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.url = base_url + "/api/v1/events"
        self.session = session
        self.responses: dict[int, aiohttp.ClientResponse] = {}
        self.readers: dict[int, asyncio.Task[None]] = {}
        self.arrivals: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.waiting: dict[str, tuple[set[int], asyncio.Event]] = {}
        self.ended_early = 0
        self.gate = asyncio.Semaphore(OPENING)

    async def open(self, number: int, token: str) -> None:
        """Open a stream and read its preamble (the subscription exists from then on)."""
        headers = {"Authorization": f"Bearer {token}"}
        async with self.gate:
            for attempt in range(100):  # a gateway just started may not reach the broker: 503
                response = await self.session.get(self.url, headers=headers)
                if response.status == 200:
                    break
                if response.status != 503 or attempt == 99:  # 429: over the per-user cap
                    response.raise_for_status()
                response.release()
                await asyncio.sleep(0.1)
            while (await response.content.readline()).strip():
                pass  # the preamble: retry hint and ": connected", then a blank line
        self.responses[number] = response
        self.readers[number] = asyncio.create_task(self.read(number, response))

    async def read(self, number: int, response: aiohttp.ClientResponse) -> None:
        data = b""  # an event frame's data line (a heartbeat is a comment: it has none)
        try:
            async for line in response.content:
                if line.startswith(b"data:"):
                    data = line[5:]
                elif not line.strip() and data:  # the blank line that ends an event frame
                    at = time.perf_counter()
                    correlation_id, data = json.loads(data)["correlation_id"], b""
                    self.arrivals[correlation_id].append((number, at))
                    waited = self.waiting.get(correlation_id)
                    if waited and waited[0] <= {n for n, _ in self.arrivals[correlation_id]}:
                        waited[1].set()  # every stream of the user has it
        except aiohttp.ClientError:
            pass
        self.ended_early += 1  # the stream ended while the benchmark still read it

    def close(self, numbers: list[int]) -> None:
        for number in numbers:
            self.readers.pop(number).cancel()
            self.responses.pop(number).close()


async def change(
    api: aiohttp.ClientSession, streams: Streams, token: str, listeners: list[int], title: str
) -> tuple[str, float, float]:
    """Create a todo; wait until each of ``listeners`` read its event (or the timeout).
    Returns (correlation id, perf_counter just before sending, the answer's ms)."""
    correlation_id = f"sse-bench-{uuid.uuid4().hex}"
    complete = asyncio.Event()
    streams.waiting[correlation_id] = (set(listeners), complete)
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": correlation_id}
    sent = time.perf_counter()
    async with api.post("/api/v1/todos", json={"title": title}, headers=headers) as answer:
        if answer.status != 201:
            raise RuntimeError(f"POST /api/v1/todos: {answer.status} {await answer.text()}")
        answered = (time.perf_counter() - sent) * 1000
    with contextlib.suppress(TimeoutError):  # what did not come is counted as missed
        await asyncio.wait_for(complete.wait(), EVENT_TIMEOUT)
    return correlation_id, sent, answered


async def drive(base_url: str, issuer: TokenIssuer, gateway_pid: int) -> dict[str, Any]:
    users = -(-CONNECTIONS // PER_USER)
    tokens = [issuer.issue(str(uuid.uuid4())) for _ in range(users + 1)]  # the last: warm-up
    numbers = list(range(CONNECTIONS))  # user u's streams: u * PER_USER onwards
    streams_of = [numbers[u * PER_USER : (u + 1) * PER_USER] for u in range(users)]
    # A stream hears at least a heartbeat every 15 s: 60 s of silence is a broken one.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as sse,
        aiohttp.ClientSession(base_url, timeout=aiohttp.ClientTimeout(total=30)) as api,
    ):
        streams = Streams(base_url, sse)
        warm = [-1 - n for n in range(PER_USER)]  # warm-up: code paths, pools, the hub
        await asyncio.gather(*(streams.open(n, tokens[-1]) for n in warm))
        for i in range(5):
            await change(api, streams, tokens[-1], warm, f"warm-up {i}")
        streams.close(warm)
        streams.arrivals.clear()
        await asyncio.sleep(SETTLE)
        rss = {"before": rss_mib(gateway_pid)}

        async def open_all() -> float:
            started = time.perf_counter()
            await asyncio.gather(
                *(streams.open(n, tokens[n // PER_USER]) for n in range(CONNECTIONS))
            )
            return time.perf_counter() - started

        open_seconds = await open_all()
        await asyncio.sleep(SETTLE)
        rss["open"] = rss_mib(gateway_pid)
        print(f"{CONNECTIONS} streams open in {open_seconds:.1f} s; measuring {CHANGES} changes")
        meter = CpuMeter({"gateway": gateway_pid}, this_process=True).start()
        done: list[tuple[str, float, float]] = []
        for first in range(0, CHANGES, PARALLEL):  # user i % users makes change i
            batch = [(tokens[i % users], streams_of[i % users], f"change {i}") for i in
                     range(first, min(first + PARALLEL, CHANGES))]  # fmt: skip
            done += await asyncio.gather(*(change(api, streams, *job) for job in batch))
        cpu = meter.per(len(done))
        await asyncio.sleep(0.5)  # late or misdelivered events
        ended_early = streams.ended_early
        rss["after_changes"] = rss_mib(gateway_pid)
        # Closed, then all opened again: memory kept for reuse, or leaked per connection?
        for state in ("closed", "reopened"):
            streams.close(list(streams.responses))
            if state == "reopened":
                await open_all()
            await asyncio.sleep(SETTLE)
            rss[state] = rss_mib(gateway_pid)
        streams.close(list(streams.responses))

    delays, last_delays, answers = [], [], []
    missed = misdelivered = duplicates = 0
    for correlation_id, sent, answered in done:
        expected = streams.waiting[correlation_id][0]
        got = streams.arrivals.get(correlation_id, [])
        answers.append(answered)
        misdelivered += sum(1 for n, _ in got if n not in expected)
        duplicates += len(got) - len({n for n, _ in got})
        mine = [(at - sent) * 1000 for n, at in got if n in expected]
        delays += mine
        missed += len(expected - {n for n, _ in got})
        last_delays += [max(mine)] if mine else []
    return {
        "connections": CONNECTIONS,
        "users": users,
        "streams_per_user": PER_USER,
        "open_seconds": round(open_seconds, 2),
        "gateway_rss_mib": {state: round(mib, 1) for state, mib in rss.items()},
        "kib_per_connection": round((rss["open"] - rss["before"]) * 1024 / CONNECTIONS, 1),
        "changes": len(done),
        "parallel": PARALLEL,
        "deliveries_expected": len(done) * PER_USER,
        "delay_every_stream": {**percentiles(delays), "count": len(delays)},
        "delay_last_stream_of_change": percentiles(last_delays),
        "post_answer": percentiles(answers),
        "missed": missed,
        "misdelivered": misdelivered,
        "duplicates": duplicates,
        "streams_ended_early": ended_early,
        "cpu_ms_per_change": cpu,
    }


def main() -> dict[str, Any]:
    # A socket per stream, on both ends: the gateway inherits this process's limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < (wanted := CONNECTIONS * 2 + 1024):
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    settings = {"LOG_LEVEL": "WARNING"}
    if PER_USER > 5:
        settings["EVENT_STREAM_MAX_PER_USER"] = str(PER_USER)
    with (
        scratch_vhost("tp_bench") as vhost,
        scratch_environment("sse", AMQP_URL=vhost.url, **settings) as scratch,
    ):
        env, work = scratch.env, scratch.work
        issuer = TokenIssuer(
            scratch.private_key, issuer="todo-platform", audience="todo-platform-api",
            ttl_seconds=3600,
        )  # fmt: skip
        processes = [start_service("todos", "services.todos.app:create_app", env, work)]
        try:
            gateway_env = {**env, "TODOS_URL": processes[0].url}
            if CONNECTIONS > 1000:  # granian serves 1,024 connections per worker at most
                gateway_env["GRANIAN_BACKPRESSURE"] = str(CONNECTIONS + 24)
            gateway = start_service("gateway", "services.gateway.app:create_app", gateway_env, work)
            processes.append(gateway)
            return asyncio.run(drive(gateway.url, issuer, gateway.process.pid))
        finally:
            for process in reversed(processes):
                process.stop()


if __name__ == "__main__":
    report = main()
    rss = ", ".join(f"{state} {mib}" for state, mib in report["gateway_rss_mib"].items())
    print(f"gateway RSS, MiB: {rss}: {report['kib_per_connection']} KiB per connection")
    print(f"{'delay, change -> event read (ms)':<36}{'p50':>9}{'p99':>9}{'max':>9}")
    for key in ("delay_every_stream", "delay_last_stream_of_change", "post_answer"):
        row = report[key]
        print(f"{key:<36}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['max_ms']:>9.1f}")
    counts = ("changes", "deliveries_expected", "missed", "misdelivered", "duplicates")
    print(", ".join(f"{name} {report[name]}" for name in (*counts, "streams_ended_early")))
    write_results("sse", report)
