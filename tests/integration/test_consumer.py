"""shared.consumer against a real Postgres (scratch database) and RabbitMQ (scratch vhost)."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
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

from shared.consumer import REASON_HEADER, ConsumerRunner, Handler, processed_messages_table
from shared.db import schema_metadata
from shared.messaging import Envelope, connect, dead_letter_queue_name, to_message
from tests.support.database import scratch_engine
from tests.support.rabbit import Vhost, death_reason, get_message, rabbitmqctl, scratch_vhost

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


StartRunner = Callable[..., Awaitable[ConsumerRunner]]


@pytest.fixture
async def start_runner(
    vhost: Vhost, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[StartRunner]:
    """Start a runner with one handler on ``queue``, on a connection of its own."""
    started: list[tuple[ConsumerRunner, AbstractRobustConnection]] = []

    async def start(queue: str, handler: Handler, **options: Any) -> ConsumerRunner:
        conn = await connect(vhost.url, name="consumer")
        runner = ConsumerRunner(conn, sessions, processed, retry_delay=0.05)
        runner.add("tests", queue, handler, accepts=[(TYPE, 1)], **options)
        await runner.start()
        started.append((runner, conn))
        return runner

    yield start
    for runner, conn in started:
        await runner.stop(grace_period=5)
        await conn.close()


def recording(queue: str, delay: float = 0.0) -> Handler:
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


async def eventually(
    probe: Callable[[], Any], check: Callable[[Any], bool] = bool, timeout: float = 8.0
) -> None:
    """Poll ``probe()`` (awaited if need be) until ``check`` accepts its value; errors count
    as "not yet" (the broker may be reconnecting)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if check(await value if inspect.isawaitable(value) else value):
                return
        except Exception as exc:
            last = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s (last error: {last!r})")
        await asyncio.sleep(0.05)


async def test_a_message_is_acked_only_after_the_commit(
    start_runner: StartRunner, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue, entered, release = new_queue(), asyncio.Event(), asyncio.Event()

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await recording(queue)(session, envelope)
        entered.set()
        await release.wait()

    await start_runner(queue, handler)
    envelope = event()
    await publish(producer, queue, to_message(envelope))
    await asyncio.wait_for(entered.wait(), 5)
    assert await handled_rows(sessions, queue) == []  # not committed yet ...
    assert await queue_counts(vhost, producer, queue) == (0, 1)  # ... and not acked
    release.set()
    await eventually(lambda: handled_rows(sessions, queue), lambda rows: rows == [envelope.id])
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))


async def test_the_same_envelope_twice_is_handled_once(
    start_runner: StartRunner, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue = new_queue()
    await start_runner(queue, recording(queue))
    envelope, other = event(), event()
    for sent in (envelope, envelope, other):
        await publish(producer, queue, to_message(sent))
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    assert sorted(await handled_rows(sessions, queue)) == sorted([envelope.id, other.id])


async def test_malformed_messages_are_dead_lettered_and_the_next_one_handled(
    start_runner: StartRunner, producer: AbstractRobustConnection, sessions: Any
) -> None:
    queue = new_queue()
    await start_runner(queue, recording(queue))
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
        reasons = []
        for sent in bad:
            message = await get_message(dead)
            assert message.body == sent.body
            assert message.headers["x-original-routing-key"] == queue
            reasons.append(str(message.headers[REASON_HEADER]))
            await message.ack()
        assert await dead.get(fail=False) is None
    assert reasons[0].startswith("invalid envelope")
    assert reasons[1].startswith("invalid envelope")
    assert "tests.thing.exploded" in reasons[2]


async def test_a_failing_handler_is_retried_then_dead_lettered(
    start_runner: StartRunner, producer: AbstractRobustConnection, sessions: Any
) -> None:
    queue, attempts = new_queue(), []

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await recording(queue)(session, envelope)
        attempts.append(envelope.id)
        raise RuntimeError("poison")

    await start_runner(queue, handler, delivery_limit=2)
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
    start_runner: StartRunner,
    producer: AbstractRobustConnection,
    sessions: Any,
    vhost: Vhost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue, total = new_queue(), 100
    await start_runner(queue, recording(queue, delay=0.2), prefetch=10)
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
    start_runner: StartRunner, producer: AbstractRobustConnection, sessions: Any, vhost: Vhost
) -> None:
    queue, entered = new_queue(), asyncio.Event()

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        entered.set()
        await asyncio.sleep(0.5)
        await recording(queue)(session, envelope)

    runner = await start_runner(queue, handler, prefetch=1)
    first, second = event(), event()
    await publish(producer, queue, to_message(first))
    await publish(producer, queue, to_message(second))
    await asyncio.wait_for(entered.wait(), 5)
    await runner.stop()
    assert await handled_rows(sessions, queue) == [first.id]
    assert await queue_counts(vhost, producer, queue) == (1, 0)  # first acked, second never taken
    async with producer.channel() as channel:
        left = await get_message(await channel.get_queue(queue))
        assert left.message_id == str(second.id)
        await left.nack(requeue=True)


async def test_run_until_signalled_stops_on_sigterm(
    vhost: Vhost, sessions: async_sessionmaker[AsyncSession]
) -> None:
    conn = await connect(vhost.url, name="consumer")
    runner = ConsumerRunner(conn, sessions, processed, retry_delay=0.05)
    runner.add("tests", new_queue(), recording("unused"), accepts=[(TYPE, 1)])
    running = asyncio.create_task(runner.run_until_signalled())
    await eventually(lambda: all(s.consumer_tag for s in runner.subscriptions))
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 5)
    assert all(s.channel is not None and s.channel.is_closed for s in runner.subscriptions)
    await conn.close()
