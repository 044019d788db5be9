"""The benchmarks' HTTP load generator: closed-loop keep-alive connections, as wrk drives.

``connections`` HTTP/1.1 connections each send one request, wait for the whole response
and send the next, until the time is up; every response's latency is kept, so p50/p99 are
exact. It runs in a process of its own (``python bench/load_generator.py ...`` prints one
JSON object), on uvloop with raw protocols, so it costs a small part of one core at the
rates measured here and needs nothing beyond the locked dependencies. Responses must carry
a Content-Length (every service here answers so); anything else counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

import uvloop


class _Connection(asyncio.Protocol):
    def __init__(
        self,
        request: bytes,
        deadline: float,
        latencies: list[int],
        statuses: dict[int, int],
        done: asyncio.Future[None],
    ) -> None:
        self.request, self.deadline = request, deadline
        self.latencies, self.statuses, self.done = latencies, statuses, done
        self.buffer = bytearray()
        self.sent = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter_ns()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            marker = head.find(b"\r\ncontent-length:")
            if marker < 0:
                self._finish(RuntimeError(f"response without Content-Length: {head[:200]!r}"))
                return
            stop = head.find(b"\r\n", marker + 2)
            length = int(head[marker + 17 : stop if stop > 0 else len(head)])
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            status = int(head[9:12])
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(time.perf_counter_ns() - self.sent)
            if time.perf_counter() >= self.deadline:
                self._finish(None)
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or RuntimeError("the server closed the connection"))

    def _finish(self, error: Exception | None) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_exception(error) if error else self.done.set_result(None)


def _request(url: str, method: str, headers: list[str], body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path or '/'} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return parts.hostname or "127.0.0.1", parts.port or 80, head + body


async def drive(
    url: str,
    *,
    connections: int,
    seconds: float,
    method: str = "GET",
    headers: list[str] | None = None,
    body: bytes = b"",
) -> dict[str, float]:
    """Load ``url`` for ``seconds``; requests/s, p50/p99 (ms) and how many were not 2xx."""
    host, port, request = _request(url, method, headers or [], body)
    loop = asyncio.get_running_loop()
    latencies: list[int] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + seconds
    finished = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            lambda done=done: _Connection(request, deadline, latencies, statuses, done),  # type: ignore[misc]
            host,
            port,
        )
        finished.append(done)
    await asyncio.gather(*finished)
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        raise RuntimeError("no response at all")
    return {
        "requests_per_second": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 50),
        "p90_ms": _percentile(latencies, 90),
        "p99_ms": _percentile(latencies, 99),
        "p999_ms": _percentile(latencies, 99.9),
        "max_ms": latencies[-1] / 1e6,
        "requests": float(len(latencies)),
        "non_2xx": float(sum(n for status, n in statuses.items() if not 200 <= status < 300)),
    }


def _percentile(ordered: list[int], percent: float) -> float:
    """The nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    rank = min(len(ordered) - 1, int(len(ordered) * percent / 100))
    return ordered[rank] / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--seconds", type=float, default=15.0)
    parser.add_argument("-m", "--method", default="GET")
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--body", default="")
    args = parser.parse_args()
    result = uvloop.run(
        drive(
            args.url,
            connections=args.connections,
            seconds=args.seconds,
            method=args.method,
            headers=args.header,
            body=args.body.encode(),
        )
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
