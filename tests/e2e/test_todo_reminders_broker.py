"""A reminder that comes due while the todos service cannot reach the broker: it fires on
time into the outbox, where it waits, and reaches the owner's stream once, when the broker
is back (two todos processes, whose broker connections go through a proxy a test cuts)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.rabbit import Vhost
from tests.support.reminders import (
    LAG_BOUND,
    create,
    iso,
    listening,
    reminder_of,
    reminder_rows,
    reminder_stack,
    reminders_within,
    soon,
)
from tests.support.tcp_proxy import TcpProxy


async def test_a_reminder_due_while_the_broker_is_unreachable_arrives_once_it_is_back(
    service_env: dict[str, str], vhost: Vhost, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The todos processes reach the broker through a proxy; the gateway's stream does not.
    with TcpProxy(urlsplit(vhost.url).port or 5672) as proxy:
        todos_env = {"AMQP_URL": proxy.url_through(vhost.url)}
        log_dir = tmp_path_factory.mktemp("reminder-broker")
        with reminder_stack(service_env, log_dir, 2, todos_env) as stack:
            async with listening(stack.gateway.url) as (stream, api):
                proxy.cut()
                try:
                    todo = await create(api, title="Through the outage", remind_at=iso(soon(2)))
                    during = await reminders_within(stream, 2 + LAG_BOUND + 1)
                    # Fired on time, once, into the outbox, where it waits for the broker.
                    waiting = await reminder_rows(stack.env["DATABASE_URL"], todo["id"])
                finally:
                    proxy.restore()
                # Relays retry every 5 s at most, and reconnect within a second or so.
                after = await reminders_within(stream, 15, linger_after_first=3)
            sent = await reminder_rows(stack.env["DATABASE_URL"], todo["id"])
    assert during == []
    assert waiting == [None]
    assert [body["data"]["id"] for body, _ in after] == [todo["id"]]
    data, _ = reminder_of(after[0][0])
    assert data["late"] is False  # fired on time; only its delivery waited
    assert len(sent) == 1 and sent[0] is not None
