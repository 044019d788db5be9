"""shared.consumer's event handlers (one transaction per delivery, the message claimed in
it) against a real Postgres (scratch database) and RabbitMQ (scratch vhost)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from sqlalchemy import Column, Integer, Table, Text, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from shared.consumer import (
    REASON_HEADER,
    Consumer,
    EventHandler,
    Policy,
    processed_messages_table,
)
from shared.db import schema_metadata
from shared.messaging import Envelope, connect, dead_letter_queue_name, to_message
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT
from tests.support.consumers import event_subscription, running_consumers
from tests.support.database import scratch_engine
from tests.support.polling import eventually
from tests.support.rabbit import (
    Vhost,
    death_reason,
    get_message,
    queue_counts,
    scratch_vhost,
)

metadata = schema_metadata("consumer_test")
processed = processed_messages_table(metadata)
handled = Table(
    "handled",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("queue", Text, nullable=False),
    Column("message_id", Uuid, nullable=False),
)
TYPE = "tests.thing.created"


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("consumer") as created:
        yield created


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_engine("consumer_test", metadata) as created:
        yield created


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture(scope="module")
async def producer(vhost: Vhost) -> AsyncIterator[AbstractRobustConnection]:
    conn = await connect(vhost.url, name="producer")
    yield conn
    await conn.close()


StartConsumer = Callable[..., Awaitable[Consumer]]


@pytest.fixture
async def start_consumer(
    vhost: Vhost, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[StartConsumer]:
    """Start a consumer of ``queue`` with one event handler, on a connection of its own.

    ``concurrency`` deliveries are handled at once (10 unless told), each in its own
    transaction; a failed one goes back to the queue after 0.05 s (doubling).
    """
    async with running_consumers(vhost.url) as consumers:

        async def start(
            queue: str,
            handler: EventHandler,
            *,
            concurrency: int = 10,
            delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
        ) -> Consumer:
            policy = Policy(concurrency=concurrency, retry_delay=0.05, stop_grace=5)
            subscription = event_subscription(
                queue,
                handler,
                sessionmaker=sessions,
                processed_table=processed,
                consumer="tests",
                accepts=[(TYPE, 1)],
                delivery_limit=delivery_limit,
                policy=policy,
            )
            return await consumers.start(subscription)

        yield start


def recording(queue: str, delay: float = 0.0) -> EventHandler:
    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(insert(handled).values(queue=queue, message_id=envelope.id))
        await asyncio.sleep(delay)

    return handler


def new_queue() -> str:
    return f"work.{uuid.uuid4().hex[:8]}"


def event() -> Envelope:
    return Envelope(type=TYPE, data={"n": 1})


async def publish(conn: AbstractRobustConnection, queue: str, message: aio_pika.Message) -> None:
    async with conn.channel() as channel:  # confirm channel: returns once the broker has it
        await channel.default_exchange.publish(message, queue, mandatory=True)


async def handled_rows(sessions: async_sessionmaker[AsyncSession], queue: str) -> list[uuid.UUID]:
    async with sessions() as session:
        rows = await session.scalars(select(handled.c.message_id).where(handled.c.queue == queue))
        return list(rows)


async def test_a_message_is_acked_only_after_the_commit(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue, entered, release = new_queue(), asyncio.Event(), asyncio.Event()

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await recording(queue)(session, envelope)
        entered.set()
        await release.wait()

    await start_consumer(queue, handler)
    envelope = event()
    await publish(producer, queue, to_message(envelope))
    await asyncio.wait_for(entered.wait(), 5)
    assert await handled_rows(sessions, queue) == []  # not committed yet ...
    assert await queue_counts(vhost, producer, queue) == (0, 1)  # ... and not acked
    release.set()
    await eventually(lambda: handled_rows(sessions, queue), lambda rows: rows == [envelope.id])
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))


async def test_the_same_envelope_twice_is_handled_once(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue = new_queue()
    await start_consumer(queue, recording(queue))
    envelope, other = event(), event()
    for sent in (envelope, envelope, other):
        await publish(producer, queue, to_message(sent))
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    assert sorted(await handled_rows(sessions, queue)) == sorted([envelope.id, other.id])


async def test_malformed_messages_are_dead_lettered_and_the_next_one_handled(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, sessions: Any
) -> None:
    queue = new_queue()
    await start_consumer(queue, recording(queue))
    unknown = Envelope(type="tests.thing.exploded", data={})
    bad = [
        aio_pika.Message(b"{not json", content_type="application/json"),
        aio_pika.Message(json.dumps({"type": TYPE}).encode(), content_type="application/json"),
        to_message(unknown),
    ]
    for message in bad:
        await publish(producer, queue, message)
    good = event()
    await publish(producer, queue, to_message(good))
    await eventually(lambda: handled_rows(sessions, queue), lambda rows: rows == [good.id])
    async with producer.channel() as channel:
        dead = await channel.get_queue(dead_letter_queue_name(queue))
        reasons = {}  # by body: deliveries are handled concurrently, in any order
        for _ in bad:
            letter = await get_message(dead)
            assert letter.headers["x-original-routing-key"] == queue
            reasons[letter.body] = str(letter.headers[REASON_HEADER])
            await letter.ack()
        assert await dead.get(fail=False) is None
    assert reasons.keys() == {sent.body for sent in bad}
    assert reasons[bad[0].body].startswith("invalid envelope")
    assert reasons[bad[1].body].startswith("invalid envelope")
    assert "tests.thing.exploded" in reasons[bad[2].body]


async def test_a_failing_handler_is_retried_then_dead_lettered(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, sessions: Any
) -> None:
    queue, attempts = new_queue(), []

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await recording(queue)(session, envelope)
        attempts.append(envelope.id)
        raise RuntimeError("poison")

    await start_consumer(queue, handler, delivery_limit=2)
    envelope = event()
    await publish(producer, queue, to_message(envelope))
    async with producer.channel() as channel:
        dead = await get_message(await channel.get_queue(dead_letter_queue_name(queue)), 8)
        assert death_reason(dead) == "delivery_limit"
        assert dead.message_id == str(envelope.id)
        await dead.ack()
    assert len(attempts) == 3  # the first delivery and two redeliveries
    assert await handled_rows(sessions, queue) == []  # every attempt was rolled back
    async with sessions() as session:
        claimed = await session.scalar(select(func.count()).select_from(processed).where(
            processed.c.message_id == envelope.id))  # fmt: skip
    assert claimed == 0


async def test_every_message_is_handled_once_across_a_reconnect(
    start_consumer: StartConsumer,
    producer: AbstractRobustConnection,
    sessions: Any,
    vhost: Vhost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue, total = new_queue(), 100
    await start_consumer(queue, recording(queue, delay=0.2), concurrency=10)
    envelopes = [event() for _ in range(total)]
    async with producer.channel() as channel:
        for envelope in envelopes:
            await channel.default_exchange.publish(to_message(envelope), queue, mandatory=True)
    await eventually(lambda: handled_rows(sessions, queue), lambda rows: len(rows) >= 5)
    await asyncio.to_thread(vhost.close_connections)  # handlers in flight lose their channel
    assert len(await handled_rows(sessions, queue)) < total
    await eventually(
        lambda: handled_rows(sessions, queue), lambda rows: len(rows) >= total, timeout=15
    )
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    rows = await handled_rows(sessions, queue)
    assert sorted(rows) == sorted(e.id for e in envelopes)  # all of them, none twice
    assert "stale delivery ignored" in caplog.text  # in-flight acks hit the dead channel


async def test_stop_lets_the_running_handler_finish_and_ack(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue, entered = new_queue(), asyncio.Event()

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        entered.set()
        await asyncio.sleep(0.5)
        await recording(queue)(session, envelope)

    consumer = await start_consumer(queue, handler, concurrency=1)
    first, second = event(), event()
    await publish(producer, queue, to_message(first))
    await publish(producer, queue, to_message(second))
    await asyncio.wait_for(entered.wait(), 5)
    await consumer.stop()
    assert consumer.channel is not None and consumer.channel.is_closed
    assert not consumer.is_consuming
    assert await handled_rows(sessions, queue) == [first.id]
    assert await queue_counts(vhost, producer, queue) == (1, 0)  # first acked, second never taken
    async with producer.channel() as channel:
        left = await get_message(await channel.get_queue(queue))
        assert left.message_id == str(second.id)
        await left.nack(requeue=True)
