"""`make bench` (list scaling): GET /api/v1/todos for a user with 100 and with 100,000 todos.

Starts the todos service against a scratch database, fills two users' lists straight in
SQL (a tenth of the todos completed, half with a due date, titles from a small word list,
one in 500 holding the word "quarterly"), and times, one request at a time, the first page
and a page deep in the cursor chain of the default sort and of ``sort=due_at``, and a
``q=`` search. Latency should not grow with the list beyond the index's log factor, so
each shape is given as the ratio of the large list's p50 to the small one's. The query
plans come from ``EXPLAIN (ANALYZE)`` of the statements the service builds
(``services.todos.list_query``), on the same data.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import scratch_environment, write_results  # noqa: E402
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect  # noqa: E402

from services.todos.list_query import page_statement  # noqa: E402
from services.todos.pagination import DEFAULT_SORT  # noqa: E402
from services.todos.schemas import TodoFilters  # noqa: E402
from shared.tokens import TokenIssuer  # noqa: E402
from tests.support.processes import start_service  # noqa: E402

SIZES = (100, 100_000)
REQUESTS = int(os.environ.get("BENCH_LIST_REQUESTS", "100"))
DEEP_PAGES = int(os.environ.get("BENCH_LIST_DEEP_PAGES", "40"))
PAGE = 50
SHAPES = {
    "first page, default sort": {},
    "first page, sort=due_at": {"sort": "due_at"},
    "q=quarterly": {"q": "quarterly"},
}

FILL = """
INSERT INTO todos.todos (id, user_id, number, title, status, priority, due_at, created_at)
SELECT gen_random_uuid(), $1, n,
       (ARRAY['call','write','review','plan','buy','fix','send','read'])[1 + n % 8]
         || ' ' || (CASE WHEN n % 500 = 0 THEN 'quarterly report' ELSE 'item ' || n END),
       CASE WHEN n % 10 = 0 THEN 'completed' ELSE 'pending' END,
       (ARRAY['low','medium','high','urgent'])[1 + n % 4],
       CASE WHEN n % 2 = 0 THEN now() + make_interval(hours => n % 5000) END,
       now() - make_interval(secs => n)
FROM generate_series(1, $2) AS n
"""


async def fill(url: str, users: dict[int, uuid.UUID]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for size, user in users.items():
            await connection.execute(FILL, user, size)
            await connection.execute(
                "INSERT INTO todos.user_counters (user_id, last_number) VALUES ($1, $2)", user, size
            )
        await connection.execute("ANALYZE todos.todos")
    finally:
        await connection.close()


def timed(api: httpx.Client, params: dict[str, Any]) -> dict[str, float]:
    latencies = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        api.get("/api/v1/todos", params=params).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p99_ms": latencies[len(latencies) * 99 // 100]}


def deep_cursor(api: httpx.Client, params: dict[str, Any]) -> str:
    """The cursor of page DEEP_PAGES + 1, by following the chain from the first page."""
    cursor = None
    for _ in range(DEEP_PAGES):
        page = api.get("/api/v1/todos", params={**params, **({"cursor": cursor} if cursor else {})})
        cursor = page.raise_for_status().json()["next_cursor"]
    assert cursor, "the list is shorter than the deep page"
    return cursor


async def plans(url: str, user: uuid.UUID) -> dict[str, str]:
    """EXPLAIN ANALYZE of the first page of each shape, as the service builds it."""
    found = {}
    connection = await asyncpg.connect(url)
    try:
        for name, params in SHAPES.items():
            sort = params.get("sort", DEFAULT_SORT)
            statement = page_statement(
                user,
                TodoFilters(q=params.get("q")),
                sort_field=sort.removeprefix("-"),
                descending=sort.startswith("-"),
                after=None,
                limit=PAGE + 1,
            )
            sql = str(
                statement.compile(dialect=asyncpg_dialect(), compile_kwargs={"literal_binds": True})
            )
            rows = await connection.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")
            found[name] = "\n".join(row[0] for row in rows)
    finally:
        await connection.close()
    return found


def first_page(shape: str) -> str:
    """The first-page shape of the same sort as ``shape`` (a deep page's reference)."""
    return shape.replace(f"page {DEEP_PAGES + 1} of the cursor chain", "first page")


def main() -> dict[str, Any]:
    with scratch_environment("lists", LOG_LEVEL="WARNING") as scratch:
        users = {size: uuid.uuid4() for size in SIZES}
        database = scratch.env["DATABASE_URL"].replace("postgresql+asyncpg", "postgresql")
        print(f"list scaling: filling {' and '.join(f'{s:,}' for s in SIZES)} todos")
        asyncio.run(fill(database, users))
        todos = start_service("todos", "services.todos.app:create_app", scratch.env, scratch.work)
        issuer = TokenIssuer(
            scratch.private_key,
            issuer="todo-platform",
            audience="todo-platform-api",
            ttl_seconds=3600,
        )
        result: dict[str, Any] = {"sizes": list(SIZES), "shapes": {}}
        try:
            for size, user in users.items():
                headers = {"Authorization": f"Bearer {issuer.issue(str(user))}"}
                with httpx.Client(base_url=todos.url, headers=headers, timeout=30) as api:
                    for name, params in SHAPES.items():
                        timed(api, params)  # warm-up
                        result["shapes"].setdefault(name, {})[size] = timed(api, params)
                    if size >= PAGE * (DEEP_PAGES + 1):
                        for sort, first in (
                            ("-created_at", "default sort"),
                            ("due_at", "sort=due_at"),
                        ):
                            params = {"sort": sort}
                            name = f"page {DEEP_PAGES + 1} of the cursor chain, {first}"
                            deep = {**params, "cursor": deep_cursor(api, params)}
                            result["shapes"].setdefault(name, {})[size] = timed(api, deep)
            result["plans"] = asyncio.run(plans(database, users[SIZES[-1]]))
        finally:
            todos.stop()
    small, large = SIZES
    print(f"{'shape':<48}{f'{small:,} p50':>12}{f'{large:,} p50':>14}{'ratio':>8}")
    for name, by_size in result["shapes"].items():
        # A deep page is compared with the small list's first page of the same sort.
        same = name.replace(f"page {DEEP_PAGES + 1} of the cursor chain", "first page")
        first = (
            result["shapes"][same][small]["p50_ms"]
            if small not in by_size
            else by_size[small]["p50_ms"]
        )
        last = by_size[large]["p50_ms"]
        ratio = f"{last / first:.2f}" if first else ""
        shown = f"{first:.2f}" if first else "-"
        print(f"{name:<48}{shown:>12}{last:>14.2f}{ratio:>8}")
    return result


if __name__ == "__main__":
    write_results("lists", main())
