"""Outbox relay and event consumer together: nothing lost, nothing done twice.

A real Postgres (scratch database) holds a producer's outbox and a consumer's
processed-messages table; a real RabbitMQ (scratch vhost) carries the events between them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Column, Integer, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from shared.consumer import Consumer, Policy, processed_messages_table
from shared.db import schema_metadata
from shared.messaging import Envelope, Publisher, connect
from shared.outbox import OutboxRelay, add_event, outbox_table
from tests.support.consumers import event_subscription, running_consumers
from tests.support.database import scratch_engine
from tests.support.rabbit import Vhost, scratch_vhost

SCHEMA = "pipeline_test"
TYPE = "pipeline.thing.happened"
metadata = schema_metadata(SCHEMA)
OUTBOX = outbox_table(metadata)
processed = processed_messages_table(metadata)
handled = Table(
    "handled",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Uuid, nullable=False),
)


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("pipeline") as created:
        yield created


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_engine("pipeline_test", metadata) as created:
        yield created


@pytest.fixture
async def consumer(vhost: Vhost, engine: AsyncEngine) -> AsyncIterator[Consumer]:
    """A consumer recording every message it handles (its own commit makes it count)."""
    async with engine.begin() as conn:
        for table in (OUTBOX, processed, handled):
            await conn.execute(table.delete())

    async def record(session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(insert(handled).values(message_id=envelope.id))

    queue = f"pipeline-{uuid.uuid4().hex[:8]}"
    subscription = event_subscription(
        queue,
        record,
        sessionmaker=async_sessionmaker(engine),
        processed_table=processed,
        consumer="pipeline",
        accepts=[(TYPE, 1)],
        routing_keys=["pipeline.#"],
        policy=Policy(concurrency=10),  # ten deliveries handled at once
    )
    async with running_consumers(vhost.url, "pipeline-consumer") as consumers:
        yield await consumers.start(subscription)


async def add_events(engine: AsyncEngine, count: int) -> None:
    sessions = async_sessionmaker(engine)
    for n in range(count):
        async with sessions() as session, session.begin():
            await add_event(session, OUTBOX, Envelope(type=TYPE, data={"n": n}))


async def wait_for_handled(engine: AsyncEngine, count: int, timeout: float = 15.0) -> int:
    async with engine.connect() as conn:
        for _ in range(int(timeout / 0.1)):
            done = (await conn.execute(select(func.count()).select_from(handled))).scalar_one()
            if done >= count:
                await asyncio.sleep(0.5)  # anything extra would show up now
                return (await conn.execute(select(func.count()).select_from(handled))).scalar_one()
            await asyncio.sleep(0.1)
            await conn.rollback()
    return done


class CrashAfterPublish(Publisher):
    """The real publisher, but the relay 'dies' right after the broker confirmed."""

    async def publish_many(self, envelopes, **options):  # type: ignore[no-untyped-def]
        await super().publish_many(envelopes, **options)
        raise RuntimeError("relay killed between publish and mark-sent")


async def test_relay_killed_between_publish_and_mark_sent(
    vhost: Vhost, engine: AsyncEngine, consumer: Consumer
) -> None:
    await add_events(engine, 20)
    connection = await connect(vhost.url, name="pipeline-relay")
    try:

        async def crashing() -> Publisher:
            opened = await Publisher.open(connection)
            return CrashAfterPublish(opened.channel, opened.exchange, confirm_timeout=10)

        with pytest.raises(RuntimeError, match="killed"):
            await OutboxRelay(engine, OUTBOX, crashing).run_once()
        async with engine.connect() as conn:  # the mark-sent never committed
            pending = OUTBOX.c.sent_at.is_(None)
            count = select(func.count()).select_from(OUTBOX).where(pending)
            assert (await conn.execute(count)).scalar_one() == 20

        async def healthy() -> Publisher:
            return await Publisher.open(connection)

        relay = OutboxRelay(engine, OUTBOX, healthy)
        assert await relay.run_once() == (20, 20)  # every event is sent a second time
    finally:
        await connection.close()
    # 40 deliveries, 20 distinct events: each handled exactly once.
    assert await wait_for_handled(engine, 20) == 20
    async with engine.connect() as conn:
        ids = (await conn.execute(select(handled.c.message_id))).scalars().all()
    assert len(set(ids)) == 20


async def test_broker_outage_while_events_are_written(
    vhost: Vhost, engine: AsyncEngine, consumer: Consumer
) -> None:
    connection = await connect(vhost.url, name="pipeline-relay")

    async def publisher() -> Publisher:
        return await Publisher.open(connection)

    relay = OutboxRelay(engine, OUTBOX, publisher, poll_interval=0.5, max_backoff=0.5)
    await relay.start()
    try:
        writer = asyncio.create_task(add_events(engine, 200))
        for _ in range(3):  # the broker drops every connection of the vhost, three times
            await asyncio.sleep(0.3)
            await asyncio.to_thread(vhost.close_connections)
        await writer
        assert await wait_for_handled(engine, 200, timeout=30) == 200
    finally:
        await relay.stop()
        await connection.close()
