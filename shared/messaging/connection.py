"""Opening a robust AMQP connection (a process has one: ``shared.platform.Broker``).

AMQP connections are expensive (a TCP connection, a handshake, heartbeats, an Erlang
process on the broker), channels are cheap: a process opens one connection and as many
channels as it needs on it. The connection is *robust*: when the broker restarts or the
link drops, aio-pika reconnects in the background and re-opens the channels, re-declares
the exchanges and queues and re-binds them, and restarts consumers. Publishes that were in
flight during the outage fail (see :mod:`shared.messaging.publisher`); nothing replays them
automatically, which is what the outbox is for.
"""

from __future__ import annotations

import contextlib
import os

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url

# Seconds between reconnection attempts after the broker went away.
RECONNECT_INTERVAL = 1.0
CONNECT_TIMEOUT = 10.0


async def connect(url: str, *, name: str = "service") -> AbstractRobustConnection:
    """Open a new robust connection; ``name`` shows up in the broker's connection list.

    A service's process has one, owned by :class:`shared.platform.Broker`; tools and
    tests open their own.
    """
    connection = aio_pika.RobustConnection(
        make_url(url, reconnect_interval=RECONNECT_INTERVAL),
        client_properties={"connection_name": f"{name}:{os.getpid()}"},
    )
    try:
        await connection.connect(timeout=CONNECT_TIMEOUT)
    except BaseException:
        # aio_pika.connect_robust drops a connection that failed to connect unclosed: its
        # finaliser then schedules a close on whatever loop runs the garbage collector,
        # or on none ("coroutine 'RobustConnection.close' was never awaited").
        with contextlib.suppress(Exception):
            await connection.close()
        raise
    return connection
