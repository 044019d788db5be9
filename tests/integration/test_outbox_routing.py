"""shared.outbox for job queues: bulk writes, per-row routing keys, the default exchange.

A job queue's outbox (e.g. contexts' work outbox) holds rows whose routing key is the
queue's name, not the event type; its relay publishes them through the default exchange
after declaring the queue (``prepare``), so a fresh broker loses none of them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import schema_metadata
from shared.messaging import Envelope, declare_work_queue
from shared.outbox import (
    OutboxRelay,
    add_event,
    add_events,
    amqp_publisher_factory,
    create_outbox,
    outbox_table,
)
from shared.platform import Broker
from tests.support.database import scratch_database
from tests.support.rabbit import Vhost, scratch_vhost

SCHEMA = "outbox_routing_test"
metadata = schema_metadata(SCHEMA)
WORK = outbox_table(metadata, "work_outbox")


def _migrate(sync: Connection) -> None:
    sync.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    with Operations.context(MigrationContext.configure(sync)):
        create_outbox(SCHEMA, "work_outbox")


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database("outbox_routing") as url:
        eng = create_async_engine(url)
        async with eng.begin() as conn:
            await conn.run_sync(_migrate)
        yield eng
        await eng.dispose()


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("outbox_routing") as created:
        yield created


@pytest.fixture
async def empty(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f'TRUNCATE "{SCHEMA}".work_outbox'))


def job(n: int) -> Envelope:
    return Envelope(type="jobs.task.requested", data={"n": n})


async def test_add_events_writes_many_rows_in_order_in_one_statement(
    engine: AsyncEngine, empty: None
) -> None:
    envelopes = [job(n) for n in range(10_000)]
    started = time.monotonic()
    async with engine.begin() as conn:
        assert await add_events(conn, WORK, envelopes, routing_key="jobs.queue") == 10_000
    assert time.monotonic() - started < 5  # one statement, not 10,000 round trips
    async with engine.connect() as conn:
        rows = (await conn.execute(select(WORK).order_by(WORK.c.id))).all()
    assert [row.event_id for row in rows] == [envelope.id for envelope in envelopes]
    assert {row.routing_key for row in rows} == {"jobs.queue"}
    assert {row.type for row in rows} == {"jobs.task.requested"}
    assert rows[7].payload["data"] == {"n": 7} and rows[7].sent_at is None


async def test_add_events_rolls_back_with_the_transaction(engine: AsyncEngine, empty: None) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await add_events(conn, WORK, [job(1), job(2)])
        await transaction.rollback()
        count = await conn.scalar(select(func.count()).select_from(WORK))
    assert count == 0


async def test_routed_rows_reach_their_queue_through_the_default_exchange(
    engine: AsyncEngine, vhost: Vhost, empty: None
) -> None:
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    prepared: list[str] = []

    async def prepare(channel: AbstractChannel) -> None:
        # Declared by the relay itself before its first publish: no row is unroutable.
        await declare_work_queue(channel, queue, delivery_limit=3)
        prepared.append(queue)

    envelopes = [job(n) for n in range(250)]
    async with engine.begin() as conn:
        await add_events(conn, WORK, envelopes, routing_key=queue)
        await add_event(conn, WORK, job(250), routing_key=queue)
    broker = Broker(vhost.url, name="routing-test")
    factory = amqp_publisher_factory(broker.connection, exchange="", prepare=prepare)
    relay = OutboxRelay(engine, WORK, factory, poll_interval=0.2, batch_size=100)
    await relay.start()
    try:
        received = await _drain(vhost, queue, 251, timeout=15)
    finally:
        await relay.stop()
        await broker.close()
    assert prepared == [queue]
    assert received == [str(envelope.id) for envelope in envelopes] + [received[-1]]
    assert len(set(received)) == 251
    async with engine.connect() as conn:
        unsent = await conn.scalar(
            select(func.count()).select_from(WORK).where(WORK.c.sent_at.is_(None))
        )
    assert unsent == 0


async def _drain(vhost: Vhost, queue: str, count: int, timeout: float) -> list[str]:
    """message_ids on ``queue`` in arrival order (consumed), once ``count`` arrived."""
    conn = await aio_pika.connect(vhost.url)
    try:
        channel = await conn.channel()
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(got) < count:
            try:
                declared = await channel.get_queue(queue, ensure=True)
            except aio_pika.exceptions.ChannelClosed:  # not declared yet
                channel = await conn.channel()
                await asyncio.sleep(0.1)
                continue
            message = await declared.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
            else:
                got.append(str(message.message_id))
        return got
    finally:
        await conn.close()
