"""The process's one robust AMQP connection.

AMQP connections are expensive (a TCP connection, a handshake, heartbeats, an Erlang
process on the broker), channels are cheap: a process opens one connection and as many
channels as it needs on it. The connection is *robust*: when the broker restarts or the
link drops, aio-pika reconnects in the background and re-opens the channels, re-declares
the exchanges and queues and re-binds them, and restarts consumers. Publishes that were in
flight during the outage fail (see :mod:`shared.messaging.publisher`); nothing replays them
automatically, which is what the outbox is for.
"""

from __future__ import annotations

import asyncio
import os

import aio_pika
from aio_pika.abc import AbstractRobustConnection

# Seconds between reconnection attempts after the broker went away.
RECONNECT_INTERVAL = 1.0
CONNECT_TIMEOUT = 10.0

_connection: AbstractRobustConnection | None = None
_connection_url: str | None = None
_lock: asyncio.Lock | None = None
# The event loop the connection lives on. A service has one loop for its whole life; test
# processes run several (one per in-process app), and a connection must never be used or
# closed from a loop it does not belong to.
_loop: asyncio.AbstractEventLoop | None = None


async def connect(url: str, *, name: str = "service") -> AbstractRobustConnection:
    """Open a new robust connection; ``name`` shows up in the broker's connection list.

    Services should use :func:`get_connection` instead; this is for tools and tests that
    need a connection of their own (e.g. to another vhost).
    """
    return await aio_pika.connect_robust(
        url,
        timeout=CONNECT_TIMEOUT,
        reconnect_interval=RECONNECT_INTERVAL,
        client_properties={"connection_name": f"{name}:{os.getpid()}"},
    )


async def get_connection(url: str, *, name: str = "service") -> AbstractRobustConnection:
    """The process's connection to ``url``, opened on first use and shared afterwards.

    Asking for a different URL while one is open is a wiring bug, hence an error rather
    than a second connection.
    """
    global _connection, _connection_url, _lock, _loop
    if _loop is not asyncio.get_running_loop():
        _connection, _connection_url, _lock = None, None, None
        _loop = asyncio.get_running_loop()
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _connection is not None and not _connection.is_closed:
            if url != _connection_url:
                raise RuntimeError("the process connection is open to another broker URL")
            return _connection
        _connection = await connect(url, name=name)
        _connection_url = url
        return _connection


async def close_connection() -> None:
    """Close the process's connection (at shutdown); a later get opens a new one."""
    global _connection, _connection_url, _lock, _loop
    connection, loop = _connection, _loop
    _connection, _connection_url, _lock, _loop = None, None, None, None
    if connection is not None and not connection.is_closed and loop is asyncio.get_running_loop():
        await connection.close()
