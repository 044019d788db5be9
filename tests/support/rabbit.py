"""Scratch RabbitMQ vhosts for tests (each test module gets its own, deleted afterwards),
and small helpers to read what landed in a queue.

Tests never touch the default vhost, so they cannot disturb (or be disturbed by) a
development stack on the same broker, and a vhost deletion removes every exchange and
queue a test made. Managing vhosts needs ``rabbitmqctl`` (run as root or the broker user).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from shared.settings import DEV_AMQP_URL

# The broker the test vhosts are created on (its vhost part is ignored).
SERVER_URL = os.environ.get("TEST_AMQP_SERVER_URL", DEV_AMQP_URL)


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


@dataclass(frozen=True)
class Vhost:
    name: str
    url: str

    def queue_arguments(self, queue: str) -> dict[str, Any]:
        """The arguments the broker holds for ``queue`` (not what a client passed)."""
        rows = json.loads(
            rabbitmqctl("list_queues", "-p", self.name, "name", "arguments", "--formatter", "json")
        )
        for row in rows:
            if row["name"] == queue:  # arguments are [name, amqp type, value] triples
                return {name: value for name, _type, value in row["arguments"]}
        raise KeyError(queue)

    def close_connections(self) -> None:
        """Have the broker close every client connection to this vhost (an outage)."""
        rabbitmqctl("close_all_connections", "-p", self.name, "closed by a test")


def vhost_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


@contextmanager
def scratch_vhost(prefix: str = "test") -> Iterator[Vhost]:
    """A new vhost ``<prefix>_<random>`` the server's user may fully use; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    user = urlsplit(SERVER_URL).username or "guest"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        yield Vhost(name, vhost_url(name))
    finally:
        rabbitmqctl("delete_vhost", name)


async def get_message(queue: AbstractQueue, timeout: float = 5.0) -> AbstractIncomingMessage:
    """The next message of ``queue`` (unacked), polling until ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await queue.get(no_ack=False, fail=False)
        if message is not None:
            return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no message on {queue.name} within {timeout}s")
        await asyncio.sleep(0.02)


def death_reason(message: AbstractIncomingMessage) -> str:
    """Why the broker dead-lettered ``message`` (``rejected``, ``delivery_limit``, ...)."""
    deaths = message.headers["x-death"]
    assert isinstance(deaths, list)
    first = deaths[0]
    assert isinstance(first, dict)
    return str(first["reason"])


async def queue_counts(
    vhost: Vhost, producer: AbstractRobustConnection, queue: str
) -> tuple[int, int]:
    """(messages ready in ``queue``, messages unacked on the vhost's channels), live.

    Queue statistics lag by seconds; a passive declare and the channels' own counters don't.
    """
    async with producer.channel() as channel:
        ready = (await channel.declare_queue(queue, passive=True)).declaration_result.message_count
    out = await asyncio.to_thread(
        rabbitmqctl, "list_channels", "vhost", "messages_unacknowledged", "--formatter", "json"
    )
    rows = json.loads(out)
    return ready or 0, sum(r["messages_unacknowledged"] for r in rows if r["vhost"] == vhost.name)
