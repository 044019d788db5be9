"""A stack of its own for the reminder tests: a migrated database, several todos processes
on it (each runs the reminder scheduler) and a gateway whose event stream delivers them.

The session's stack shares its database with other tests, and the reminder tests stop
every todos process of their database, so they get their own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.settings import REPO_ROOT
from tests.support.database import admin_execute, database_url
from tests.support.envelope import moment
from tests.support.processes import ServiceProcess, start_service

TODOS_FACTORY = "services.todos.app:create_app"
EVENT = "todos.todo.reminder_due"


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
    service_env: dict[str, str], log_dir: Path, replicas: int
) -> Iterator[ReminderStack]:
    """``replicas`` todos processes and a gateway on a new database, dropped afterwards."""
    name = f"tp_reminders_{uuid.uuid4().hex[:12]}"
    url = database_url(name)
    subprocess.run(  # creates the database too
        [sys.executable, "scripts/migrate.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
        capture_output=True,
    )
    env = {**service_env, "DATABASE_URL": url, "SERVICE_NAME": "todos"}
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
