"""shared.consumer's batches (cut by size and wait, retried, held while the dependency is
down, finished at stop) against a real RabbitMQ (scratch vhost)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import msgspec
import pytest
from aio_pika.abc import AbstractRobustConnection

from shared.consumer import (
    REASON_HEADER,
    BatchHandler,
    Consumer,
    Delivery,
    Policy,
    Retries,
    Subscription,
    envelopes,
    work_queue,
)
from shared.messaging import (
    Envelope,
    connect,
    dead_letter_queue_name,
    declare_work_queue,
    to_message,
)
from shared.messaging.topology import DEFAULT_DELIVERY_LIMIT
from tests.support.consumers import running_consumers
from tests.support.polling import eventually
from tests.support.rabbit import Vhost, get_message, queue_counts, scratch_vhost

TYPE = "tests.item.requested"
BATCHES = {"batch_size": 10, "batch_wait": 0.3, "retry_delay": 0.05, "stop_grace": 5}


class Item(msgspec.Struct, forbid_unknown_fields=True):
    n: int


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("batch") as created:
        yield created


@pytest.fixture(scope="module")
async def producer(vhost: Vhost) -> AsyncIterator[AbstractRobustConnection]:
    conn = await connect(vhost.url, name="producer")
    yield conn
    await conn.close()


StartConsumer = Callable[..., Awaitable[Consumer]]


@pytest.fixture
async def start_consumer(vhost: Vhost) -> AsyncIterator[StartConsumer]:
    """Start a consumer of ``queue`` in batches, on a connection of its own.

    Batches of 10 at most, cut 0.3 s after their first delivery; a failed batch goes back
    to the queue after 0.05 s (doubling); ``policy`` changes any of it (``Policy``).
    """
    async with running_consumers(vhost.url, "batch-consumer") as consumers:

        async def start(
            queue: str,
            handler: BatchHandler,
            *,
            delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
            dead_letters_of: str | None = None,
            **policy: Any,
        ) -> Consumer:
            subscription = Subscription(
                queue,
                handler,
                envelopes({(TYPE, 1): Item}),
                work_queue(queue, delivery_limit=delivery_limit),
                Policy(**{**BATCHES, **policy}),
                dead_letters_of=dead_letters_of,
            )
            return await consumers.start(subscription)

        yield start


class Recorder:
    """A handler that records each batch's items (and can be held or made to fail)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()
        self.fail_times = 0

    async def __call__(self, deliveries: list[Delivery]) -> Retries | None:
        self.batches.append([delivery.data.n for delivery in deliveries])
        self.entered.set()
        await self.release.wait()
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("the database is gone")
        return None

    @property
    def items(self) -> list[int]:
        return [n for batch in self.batches for n in batch]


def new_queue() -> str:
    return f"batch.{uuid.uuid4().hex[:8]}"


def item(n: int) -> Envelope:
    return Envelope(type=TYPE, data={"n": n})


async def publish(
    conn: AbstractRobustConnection,
    queue: str,
    *messages: aio_pika.Message,
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
) -> None:
    async with conn.channel() as channel:
        # Declare the queue with the consumer's arguments, so messages can wait in it.
        await declare_work_queue(channel, queue, delivery_limit=delivery_limit)
        for message in messages:
            await channel.default_exchange.publish(message, queue, mandatory=True)


async def test_deliveries_arrive_in_batches_of_ten_and_a_partial_one_after_the_wait(
    start_consumer: StartConsumer, producer: AbstractRobustConnection
) -> None:
    queue, recorder = new_queue(), Recorder()
    await publish(producer, queue, *(to_message(item(n)) for n in range(25)))
    await start_consumer(queue, recorder)
    await eventually(lambda: len(recorder.items) == 25)
    assert [len(batch) for batch in recorder.batches] == [10, 10, 5]
    assert sorted(recorder.items) == list(range(25))

    # A lone message is not kept waiting for nine more.
    started = asyncio.get_running_loop().time()
    await publish(producer, queue, to_message(item(99)))
    await eventually(lambda: recorder.batches[-1] == [99], timeout=3)
    assert asyncio.get_running_loop().time() - started < 2


async def test_malformed_and_unknown_messages_are_dead_lettered_and_the_rest_handled(
    start_consumer: StartConsumer, producer: AbstractRobustConnection
) -> None:
    queue, recorder = new_queue(), Recorder()
    await start_consumer(queue, recorder)
    bad = [
        aio_pika.Message(b"{not json", content_type="application/json"),
        to_message(Envelope(type="tests.item.exploded", data={"n": 1})),
        to_message(Envelope(type=TYPE, data={"n": "one"})),
    ]
    await publish(producer, queue, to_message(item(1)), *bad, to_message(item(2)))
    await eventually(lambda: sorted(recorder.items) == [1, 2])
    async with producer.channel() as channel:
        dead = await channel.get_queue(dead_letter_queue_name(queue))
        reasons = {}
        for _ in bad:
            message = await get_message(dead)
            reasons[message.body] = str(message.headers[REASON_HEADER])
            await message.ack()
    assert reasons[bad[0].body].startswith("invalid envelope")
    assert "tests.item.exploded" in reasons[bad[1].body]
    assert reasons[bad[2].body].startswith(f"invalid data for {TYPE}")
    # The consumer goes on.
    await publish(producer, queue, to_message(item(3)))
    await eventually(lambda: 3 in recorder.items)


async def test_a_batch_is_acked_only_after_the_handler_returns(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, recorder = new_queue(), Recorder()
    recorder.release.clear()
    await start_consumer(queue, recorder)
    await publish(producer, queue, *(to_message(item(n)) for n in range(4)))
    await asyncio.wait_for(recorder.entered.wait(), 5)
    await eventually(lambda: len(recorder.items) == 4)
    assert await queue_counts(vhost, producer, queue) == (0, 4)  # in the handler: unacked
    recorder.release.set()
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))


async def test_a_failing_handler_leaves_the_batch_for_redelivery(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, recorder = new_queue(), Recorder()
    recorder.fail_times = 2
    await start_consumer(queue, recorder)
    await publish(producer, queue, *(to_message(item(n)) for n in range(3)))
    await eventually(lambda: len(recorder.batches) == 3)
    assert [sorted(batch) for batch in recorder.batches] == [[0, 1, 2]] * 3
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))


async def test_while_the_database_is_down_the_batch_is_held_without_using_the_delivery_limit(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, database_up, attempts = new_queue(), False, 0
    handled: list[tuple[int, int]] = []

    async def handler(deliveries: list[Delivery]) -> Retries | None:
        nonlocal attempts
        attempts += 1
        if not database_up:
            raise ConnectionRefusedError("the database is gone")
        handled.extend((d.data.n, d.previous_deliveries) for d in deliveries)
        return None

    async def answers() -> bool:
        return database_up

    await start_consumer(
        queue, handler, delivery_limit=2, dependency_up=answers, max_retry_delay=0.2
    )
    await publish(producer, queue, *(to_message(item(n)) for n in range(3)), delivery_limit=2)
    await eventually(lambda: attempts == 1)
    # Requeued after 0.05, 0.1, 0.2 s, a delivery limit of 2 would be used up in a second.
    await asyncio.sleep(1.5)
    assert attempts == 1  # held: not handed to the handler again while nothing answers
    assert await queue_counts(vhost, producer, queue) == (0, 3)  # kept unacked, not requeued
    database_up = True
    await eventually(lambda: len(handled) == 3, timeout=3)
    assert sorted(handled) == [(0, 0), (1, 0), (2, 0)]  # the same deliveries, none redelivered
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    dead = await queue_counts(vhost, producer, dead_letter_queue_name(queue))
    assert dead[0] == 0


async def test_the_handler_can_ask_to_see_some_deliveries_again_later(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, seen = new_queue(), []

    async def handler(deliveries: list[Delivery]) -> Retries:
        seen.extend((d.data.n, d.previous_deliveries) for d in deliveries)
        # Item 0 fails twice; the others succeed at once.
        return {d: 0.2 for d in deliveries if d.data.n == 0 and d.previous_deliveries < 2}

    await start_consumer(queue, handler)
    await publish(producer, queue, *(to_message(item(n)) for n in range(3)))
    await eventually(lambda: (0, 2) in seen)
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    assert sorted(seen) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]


async def test_stop_finishes_the_batch_in_flight_and_returns_the_rest(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, recorder = new_queue(), Recorder()
    recorder.release.clear()
    consumer = await start_consumer(queue, recorder, batch_size=5)
    await publish(producer, queue, *(to_message(item(n)) for n in range(12)))
    await asyncio.wait_for(recorder.entered.wait(), 5)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # waits for the batch in flight
    recorder.release.set()
    await asyncio.wait_for(stopping, 5)
    assert len(recorder.batches) == 1 and len(recorder.items) == 5
    # The five handled are acked; the seven others wait in the queue for another consumer.
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (7, 0))
    async with producer.channel() as channel:
        left = await channel.get_queue(queue)
        bodies = []
        for _ in range(7):
            message = await get_message(left)
            bodies.append(json.loads(message.body)["data"]["n"])
            await message.ack()
    assert sorted(bodies + recorder.items) == list(range(12))


async def test_consuming_resumes_after_the_broker_drops_the_connection(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, recorder = new_queue(), Recorder()

    async def slow(deliveries: list[Delivery]) -> Retries | None:
        await asyncio.sleep(0.1)
        return await recorder(deliveries)

    consumer = await start_consumer(queue, slow)
    await publish(producer, queue, *(to_message(item(n)) for n in range(100)))
    await eventually(lambda: len(recorder.items) >= 20)
    await asyncio.to_thread(vhost.close_connections)  # the batch in flight loses its channel
    await eventually(lambda: set(recorder.items) == set(range(100)), timeout=20)
    # Deliveries of the dead channel come again (at least once): none is lost.
    await eventually(lambda: queue_counts(vhost, producer, queue), lambda n: n == (0, 0))
    assert consumer.is_consuming


async def test_a_queue_can_receive_copies_of_what_another_queue_dead_letters(
    start_consumer: StartConsumer, producer: AbstractRobustConnection, vhost: Vhost
) -> None:
    queue, watcher = new_queue(), Recorder()
    undeliverable = f"{queue}.undeliverable"

    async def poison(deliveries: list[Delivery]) -> Retries | None:
        raise RuntimeError("never handled")

    # What it cannot read is already kept in the dead queue it was meant for: only acked.
    await start_consumer(
        undeliverable, watcher, dead_letters_of=queue, dead_letter_unreadable=False
    )
    await start_consumer(queue, poison, delivery_limit=1)
    unreadable = aio_pika.Message(b"{not json", content_type="application/json")
    await publish(producer, queue, to_message(item(7)), unreadable, delivery_limit=1)
    # The poison message reached the delivery limit; the watcher gets a copy of it.
    await eventually(lambda: watcher.items == [7])
    # The work queue's dead queue keeps both, the watcher's own dead queue nothing.
    dead = dead_letter_queue_name(queue)
    await eventually(lambda: queue_counts(vhost, producer, dead), lambda n: n[0] == 2)
    await eventually(lambda: queue_counts(vhost, producer, undeliverable), lambda n: n == (0, 0))
    own_dead = await queue_counts(vhost, producer, dead_letter_queue_name(undeliverable))
    assert own_dead[0] == 0
    assert watcher.items == [7]
