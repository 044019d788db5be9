"""shared.outbox against a real Postgres (scratch database) and RabbitMQ (scratch vhost)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from shared.db import schema_metadata
from shared.messaging import Envelope, Publisher, connect, declare_exchanges
from shared.outbox import OutboxRelay, add_event, create_outbox, outbox_table
from tests.support.database import scratch_database
from tests.support.rabbit import Vhost, scratch_vhost

SCHEMA = "outbox_test"
metadata = schema_metadata(SCHEMA)
OUTBOX = outbox_table(metadata)


def _migrate(sync: Connection) -> None:
    sync.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    with Operations.context(MigrationContext.configure(sync)):
        create_outbox(SCHEMA)


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database("outbox") as url:
        eng = create_async_engine(url)
        async with eng.begin() as conn:
            await conn.run_sync(_migrate)
        yield eng
        await eng.dispose()


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("outbox") as created:
        yield created


@pytest.fixture(scope="module")
async def relay_connection(vhost: Vhost) -> AsyncIterator[AbstractConnection]:
    conn = await connect(vhost.url, name="relay")
    yield conn
    await conn.close()


@pytest.fixture
async def queue(vhost: Vhost, engine: AsyncEngine) -> AsyncIterator[str]:
    """A fresh durable queue bound to every outbox test event, on an empty outbox."""
    async with engine.begin() as conn:
        await conn.execute(text(f'TRUNCATE "{SCHEMA}".outbox'))
    name = f"outbox-test-{uuid.uuid4().hex[:8]}"
    conn = await connect(vhost.url, name="test-setup")
    channel = await conn.channel()
    events, _ = await declare_exchanges(channel)
    declared = await channel.declare_queue(name, durable=True)
    await declared.bind(events, routing_key="outbox.#")
    await conn.close()
    yield name


@pytest.fixture
async def relays(relay_connection: AbstractConnection) -> AsyncIterator[list[OutboxRelay]]:
    started: list[OutboxRelay] = []
    yield started
    for relay in started:
        await relay.stop()


async def start_relay(
    engine: AsyncEngine, connection: AbstractConnection, started: list[OutboxRelay], **kw: Any
) -> OutboxRelay:
    async def factory() -> Publisher:
        return await Publisher.open(connection, confirm_timeout=5)

    relay = OutboxRelay(engine, OUTBOX, factory, **{"poll_interval": 30.0, **kw})
    started.append(relay)
    await relay.start()
    return relay


def event(n: int) -> Envelope:
    return Envelope(type="outbox.test.happened", data={"n": n})


async def add(engine: AsyncEngine, count: int, per_tx: int = 1) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for start in range(0, count, per_tx):
        async with engine.begin() as conn:
            for n in range(start, min(start + per_tx, count)):
                envelope = event(n)
                await add_event(conn, OUTBOX, envelope)
                ids.append(envelope.id)
    return ids


async def collect(
    vhost: Vhost, queue: str, count: int, timeout: float, linger: float = 0.3
) -> list[str]:
    """message_ids on ``queue`` (consumed), waiting until ``count`` arrived then ``linger`` s."""
    conn = await aio_pika.connect(vhost.url)
    try:
        channel = await conn.channel()
        q = await channel.get_queue(queue, ensure=False)
        got: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_until: float | None = None
        while loop.time() < deadline:
            message = await q.get(no_ack=True, fail=False)
            if message is not None:
                got.append(str(message.message_id))
                continue
            if len(got) >= count:
                quiet_until = quiet_until or loop.time() + linger
                if loop.time() >= quiet_until:
                    break
            await asyncio.sleep(0.02)
        return got
    finally:
        await conn.close()


async def pending_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def test_declared_table_matches_migration(engine: AsyncEngine) -> None:
    def compare(sync: Connection) -> list[Any]:
        ctx = MigrationContext.configure(sync, opts={"include_schemas": True})
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(compare) == []


async def test_committed_event_is_published_once_and_marked_sent(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    await start_relay(engine, relay_connection, relays)
    await asyncio.sleep(0.3)  # the relay is idle, waiting for a notification
    sessions = async_sessionmaker(engine)
    envelope = event(1)
    async with sessions() as session, session.begin():
        await add_event(session, OUTBOX, envelope)
    # Poll interval is 30 s: only the NOTIFY at commit can wake the relay this fast.
    assert await collect(vhost, queue, 1, timeout=2.0, linger=0.5) == [str(envelope.id)]
    async with engine.connect() as conn:
        row = (await conn.execute(select(OUTBOX))).one()
    assert row.event_id == envelope.id and row.sent_at is not None
    assert row.attempts == 0 and row.last_error is None
    assert row.type == row.routing_key == "outbox.test.happened"


async def test_rolled_back_event_is_never_published(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    relay = await start_relay(engine, relay_connection, relays, poll_interval=0.1)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await add_event(conn, OUTBOX, event(1))
        await transaction.rollback()
    await asyncio.sleep(0.5)
    assert await collect(vhost, queue, 0, timeout=0.5) == []
    assert await relay.run_once() == (0, 0)


async def test_lost_listener_reconnects(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    await start_relay(engine, relay_connection, relays)
    await asyncio.sleep(0.3)
    kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"
    async with engine.begin() as conn:
        result = await conn.execute(text(kill), {"n": f"outbox-relay:{SCHEMA}_outbox"})
        assert result.scalars().all() == [True]
    await asyncio.sleep(0.3)
    ids = await add(engine, 1)
    assert await collect(vhost, queue, 1, timeout=2.0) == [str(ids[0])]


async def test_order_is_preserved(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    await start_relay(engine, relay_connection, relays, batch_size=50)
    ids = await add(engine, 200, per_tx=7)
    got = await collect(vhost, queue, 200, timeout=8.0)
    assert got == [str(i) for i in ids]
    assert await pending_count(engine) == 0


async def test_two_relays_publish_each_row_once(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    ids = await add(engine, 200, per_tx=20)  # already waiting when both relays start
    for _ in range(2):
        await start_relay(engine, relay_connection, relays, batch_size=10, poll_interval=0.05)
    got = await collect(vhost, queue, 200, timeout=8.0, linger=1.0)
    assert sorted(got) == sorted(str(i) for i in ids)  # each exactly once


async def test_broker_unreachable_then_back(
    engine: AsyncEngine, vhost: Vhost, queue: str, relays: list[OutboxRelay]
) -> None:
    reachable = False
    opened: list[AbstractRobustConnection] = []

    async def factory() -> Publisher:
        url = vhost.url if reachable else "amqp://guest:guest@127.0.0.1:1/"
        opened.append(await connect(url, name="relay-outage"))
        return await Publisher.open(opened[-1], confirm_timeout=5)

    relay = OutboxRelay(engine, OUTBOX, factory, poll_interval=30.0, max_backoff=1.0)
    relays.append(relay)
    await relay.start()
    try:
        ids = await add(engine, 200, per_tx=10)
        await asyncio.sleep(1.0)
        assert await pending_count(engine) == 200
        reachable = True
        got = await collect(vhost, queue, 200, timeout=8.0)
        assert sorted(got) == sorted(str(i) for i in ids)
        assert await pending_count(engine) == 0
    finally:
        # A robust connection left open outlives the vhost and reconnects for ever, which
        # no cancellation stops: the session's event loop could never close.
        await relay.stop()
        for connection in opened:
            await connection.close()


async def test_connections_closed_while_adding(
    engine: AsyncEngine, vhost: Vhost, queue: str, relays: list[OutboxRelay]
) -> None:
    connection = await connect(vhost.url, name="relay-closed")
    try:
        relay = await start_relay(engine, connection, relays, batch_size=20)
        adding = asyncio.create_task(add(engine, 200, per_tx=1))
        await asyncio.sleep(0.2)  # the relay is publishing while the broker drops it
        await asyncio.to_thread(vhost.close_connections)
        ids = await adding
        got = await collect(vhost, queue, 200, timeout=9.0)
        assert set(got) == {str(i) for i in ids}  # none lost (a resend may duplicate)
        await relay.stop()
    finally:
        await connection.close()


async def test_old_sent_rows_are_pruned(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    old, recent = await add(engine, 3), await add(engine, 2)
    async with engine.begin() as conn:
        sent = update(OUTBOX).where(OUTBOX.c.event_id.in_(old))
        await conn.execute(sent.values(sent_at=func.now() - text("interval '8 days'")))
        sent = update(OUTBOX).where(OUTBOX.c.event_id.in_(recent))
        await conn.execute(sent.values(sent_at=func.now() - text("interval '6 days'")))
    pending = await add(engine, 1)
    await start_relay(engine, relay_connection, relays)  # prunes at start
    assert await collect(vhost, queue, 1, timeout=2.0) == [str(pending[0])]
    for _ in range(50):
        async with engine.connect() as conn:
            left = set((await conn.execute(select(OUTBOX.c.event_id))).scalars())
        if left == {*recent, *pending}:
            break
        await asyncio.sleep(0.05)
    assert left == {*recent, *pending}


async def test_event_nobody_subscribes_to_is_not_retried_forever(
    engine: AsyncEngine,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    await start_relay(engine, relay_connection, relays)
    sessions = async_sessionmaker(engine)
    async with sessions() as session, session.begin():
        # No queue is bound for "nobody.*": the broker returns it (mandatory).
        await add_event(session, OUTBOX, Envelope(type="nobody.listens.here", data={}))
        await add_event(session, OUTBOX, event(1))
    for _ in range(40):
        if await pending_count(engine) == 0:
            break
        await asyncio.sleep(0.05)
    assert await pending_count(engine) == 0


async def test_an_unpublishable_row_is_closed_and_does_not_block_newer_events(
    engine: AsyncEngine,
    vhost: Vhost,
    queue: str,
    relay_connection: AbstractConnection,
    relays: list[OutboxRelay],
) -> None:
    async with engine.begin() as conn:  # e.g. written by an older, incompatible producer
        await conn.execute(
            OUTBOX.insert().values(
                event_id=uuid.uuid4(), type="outbox.test.happened",
                routing_key="outbox.test.happened", payload={"not": "an envelope"},
            )
        )  # fmt: skip
    good = event(1)
    sessions = async_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await add_event(session, OUTBOX, good)
    relay = await start_relay(engine, relay_connection, relays, poll_interval=0.1)
    assert await collect(vhost, queue, 1, timeout=3.0, linger=0.3) == [str(good.id)]
    assert await relay.run_once() == (0, 0)
    async with engine.connect() as conn:
        closed = (await conn.execute(select(OUTBOX).where(OUTBOX.c.event_id != good.id))).one()
    assert closed.sent_at is not None and closed.last_error.startswith("unpublishable")
