"""A stack of its own for the reminder tests: a migrated database, several todos processes
on it (each runs the reminder scheduler) and a gateway whose event stream delivers them.

The session's stack shares its database with other tests, and the reminder tests stop
every todos process of their database, so they get their own. ``todos_env`` changes the
todos processes' environment only (e.g. their ``AMQP_URL`` through a proxy that a test cuts,
while the gateway's stream stays connected).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.todos.models import OUTBOX
from shared.settings import REPO_ROOT
from tests.support.database import admin_execute, database_url
from tests.support.envelope import moment
from tests.support.event_stream import SseReader, open_stream
from tests.support.processes import ServiceProcess, start_service
from tests.support.stack import register_user
from tests.support.todos_api import TODOS

TODOS_FACTORY = "services.todos.app:create_app"
EVENT = "todos.todo.reminder_due"
LAG_BOUND = 2.0  # seconds from remind_at to the event on the stream


@dataclass
class ReminderStack:
    env: dict[str, str]  # a todos process's
    log_dir: Path
    gateway: ServiceProcess
    todos: list[ServiceProcess] = field(default_factory=list)

    def start_todos(self) -> ServiceProcess:
        process = start_service("todos", TODOS_FACTORY, self.env, self.log_dir)
        self.todos.append(process)
        return process

    def stop_todos(self) -> None:
        for process in self.todos:
            process.stop()
        self.todos.clear()


@contextmanager
def reminder_stack(
    service_env: dict[str, str],
    log_dir: Path,
    replicas: int,
    todos_env: Mapping[str, str] | None = None,
) -> Iterator[ReminderStack]:
    """``replicas`` todos processes and a gateway on a new database, dropped afterwards;
    ``todos_env`` overrides the todos processes' environment."""
    name = f"tp_reminders_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    subprocess.run(  # creates the database too
        [sys.executable, "scripts/migrate.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
        capture_output=True,
    )
    env = {**service_env, "DATABASE_URL": url, "SERVICE_NAME": "todos", **(todos_env or {})}
    stack: ReminderStack | None = None
    try:
        first = start_service("todos", TODOS_FACTORY, env, log_dir)
        gateway_env = {
            **service_env,
            "DATABASE_URL": url,
            "TODOS_URL": first.url,
            "CHAT_URL": "http://127.0.0.1:9",
            "CONTEXTS_URL": "http://127.0.0.1:9",
        }
        try:
            gateway = start_service(
                "gateway", "services.gateway.app:create_app", gateway_env, log_dir
            )
        except Exception:
            first.stop()
            raise
        stack = ReminderStack(env, log_dir, gateway, [first])
        for _ in range(replicas - 1):
            stack.start_todos()
        yield stack
    finally:
        if stack is not None:
            stack.stop_todos()
            stack.gateway.stop()
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        # In a thread of its own: the test using the stack may be running an event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin_execute(drop)).result()


def reminder_of(event_body: dict[str, Any]) -> tuple[dict[str, Any], datetime]:
    """The data of a reminder event from the stream, and its remind_at."""
    assert event_body["type"] == EVENT, event_body
    return event_body["data"], moment(event_body["data"]["remind_at"])


async def reminder_rows(database_url: str, todo_id: str) -> list[datetime | None]:
    """``sent_at`` of each reminder event of ``todo_id`` in the todos outbox (None: not yet
    published), read straight from the stack's database."""
    outbox = OUTBOX.c
    query = (
        select(outbox.sent_at)
        .where(outbox.type == EVENT, outbox.payload["data"]["id"].astext == todo_id)
        .order_by(outbox.id)
    )
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query)).scalars())
    finally:
        await engine.dispose()


def iso(moment_: datetime) -> str:
    return moment_.isoformat().replace("+00:00", "Z")


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def seconds_until(moment_: datetime) -> float:
    return max(0.0, (moment_ - datetime.now(UTC)).total_seconds())


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post(TODOS, json={"title": "Remind me", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def reminders_within(
    stream: SseReader, seconds: float, linger_after_first: float | None = None
) -> list[tuple[dict, float]]:
    """Every reminder event of the stream within ``seconds``, with its arrival (epoch);
    with ``linger_after_first``, only until that long after the first one."""
    found: list[tuple[dict, float]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await stream.next_event(timeout=left)
        except TimeoutError:
            break
        if frame.event == EVENT:
            found.append((frame.json(), time.time()))
            if linger_after_first is not None and len(found) == 1:
                deadline = time.monotonic() + linger_after_first
    return found


@asynccontextmanager
async def listening(gateway_url: str) -> AsyncIterator[tuple[SseReader, httpx.AsyncClient]]:
    """A new user's open event stream, and an API client acting as that user."""
    user = register_user(gateway_url)
    async with (
        open_stream(gateway_url, user.headers) as stream,
        httpx.AsyncClient(base_url=gateway_url, headers=user.headers) as api,
    ):
        yield stream, api
