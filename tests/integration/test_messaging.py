"""shared.messaging (and the process's connection, shared.platform.Broker) against a real
RabbitMQ, each module run in its own scratch vhost."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from shared.logging import request_id_var
from shared.messaging import (
    CORRELATION_HEADER,
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    BrokerUnavailable,
    Envelope,
    MalformedMessage,
    Publisher,
    PublishFailed,
    PublishManyFailed,
    PublishNacked,
    Unroutable,
    connect,
    declare_work_queue,
    encode,
    from_message,
    to_message,
)
from shared.platform import Broker
from tests.support.processes import REPO_ROOT, free_port
from tests.support.rabbit import Vhost, death_reason, get_message, scratch_vhost


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("messaging") as created:
        yield created


@pytest.fixture(scope="module")
async def connection(vhost: Vhost) -> AsyncIterator[AbstractRobustConnection]:
    conn = await connect(vhost.url, name="tests")
    yield conn
    await conn.close()


@pytest.fixture
async def publisher(connection: AbstractRobustConnection) -> AsyncIterator[Publisher]:
    pub = await Publisher.open(connection, confirm_timeout=5)
    yield pub
    await pub.close()


@pytest.fixture
async def channel(connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    ch = await connection.channel()
    yield ch
    await ch.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def event(entity: str, **data: Any) -> Envelope:
    return Envelope(type=f"tests.{entity}.created", data=data, user_id=uuid.uuid4())


async def test_topology_declaration_is_idempotent(channel: AbstractChannel, vhost: Vhost) -> None:
    name = unique("work.")
    for _ in range(2):
        await declare_work_queue(channel, name, routing_keys=["tests.job.*"], delivery_limit=3)
    arguments = vhost.queue_arguments(name)
    assert arguments["x-queue-type"] == "quorum"
    assert arguments["x-delivery-limit"] == 3
    assert arguments["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
    assert arguments["x-dead-letter-routing-key"] == f"{name}.dead"
    assert vhost.queue_arguments(f"{name}.dead")["x-queue-type"] == "quorum"
    # The exchanges exist (a passive declare of a missing one would close the channel).
    await channel.get_exchange(EVENTS_EXCHANGE, ensure=True)
    await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=True)


async def test_a_broker_shares_one_connection_until_it_is_closed(vhost: Vhost) -> None:
    broker = Broker(vhost.url, name="tests")
    try:
        first = await broker.connection()
        assert await broker.connection() is first
        assert broker.connected
        await broker.close()
        assert first.is_closed
        assert not broker.connected
        second = await broker.connection()  # the next use opens a new one
        assert second is not first
        assert not second.is_closed
        assert await broker.connection() is second
    finally:
        await broker.close()
    assert second.is_closed


# A connect that fails, then the garbage collector running where no loop runs (a thread,
# a test's teardown): what a process that could not reach the broker goes through.
_FAILED_CONNECT = """
import asyncio, gc, sys, threading
from shared.messaging import connect

async def main():
    try:
        await connect(sys.argv[1], name="tests")
    except Exception:
        return
    sys.exit("connected to a port nothing listens on")

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
collector = threading.Thread(target=gc.collect)
collector.start()
collector.join()
"""


def test_a_connection_that_could_not_connect_is_closed_not_left_to_the_collector() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", _FAILED_CONNECT, url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Left open, its finaliser made a close() that nothing could await.
    assert "never awaited" not in done.stderr


async def test_concurrent_first_uses_of_a_broker_open_one_connection(
    vhost: Vhost, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[AbstractRobustConnection] = []

    async def counting_connect(url: str, *, name: str) -> AbstractRobustConnection:
        await asyncio.sleep(0.05)  # the others ask meanwhile
        connection = await connect(url, name=name)
        opened.append(connection)
        return connection

    monkeypatch.setattr("shared.platform.broker.connect", counting_connect)
    broker = Broker(vhost.url, name="tests")
    try:
        connections = await asyncio.gather(*(broker.connection() for _ in range(5)))
        assert len(opened) == 1
        assert all(connection is opened[0] for connection in connections)
    finally:
        await broker.close()


async def test_envelope_round_trips_through_a_queue(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity = unique("roundtrip")
    queue = await declare_work_queue(channel, unique("rt."), routing_keys=[f"tests.{entity}.*"])
    token = request_id_var.set("req-123")
    try:
        sent = event(entity, title="buy milk", tags=["a", "b"], n=3)
    finally:
        request_id_var.reset(token)
    await publisher.publish(sent)

    message = await get_message(queue)
    await message.ack()
    assert message.message_id == str(sent.id)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert message.correlation_id == "req-123"
    assert message.headers[CORRELATION_HEADER] == "req-123"
    assert message.routing_key == sent.type
    assert from_message(message) == sent


async def test_unroutable_publish_raises_and_publisher_keeps_working(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    lonely = event(unique("nobody"))
    with pytest.raises(Unroutable) as caught:
        await publisher.publish(lonely)
    assert caught.value.message_id == lonely.id
    assert caught.value.routing_key == lonely.type

    entity = unique("after")
    queue = await declare_work_queue(channel, unique("after."), routing_keys=[f"tests.{entity}.*"])
    await publisher.publish(event(entity))
    await (await get_message(queue)).ack()


async def test_nacked_publish_raises(channel: AbstractChannel, publisher: Publisher) -> None:
    entity = unique("full")
    events_exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    full = await channel.declare_queue(
        unique("full."), arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    await full.bind(events_exchange, routing_key=f"tests.{entity}.*")
    await publisher.publish(event(entity))
    with pytest.raises(PublishNacked):
        await publisher.publish(event(entity))


async def test_rejected_message_is_dead_lettered(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity, name = unique("rejected"), unique("rej.")
    queue = await declare_work_queue(channel, name, routing_keys=[f"tests.{entity}.*"])
    sent = event(entity)
    await publisher.publish(sent)
    await (await get_message(queue)).reject(requeue=False)

    dead = await get_message(await channel.get_queue(f"{name}.dead"))
    await dead.ack()
    assert from_message(dead) == sent
    assert death_reason(dead) == "rejected"


async def test_exceeding_the_delivery_limit_dead_letters(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity, name = unique("poison"), unique("poison.")
    queue = await declare_work_queue(
        channel, name, routing_keys=[f"tests.{entity}.*"], delivery_limit=2
    )
    sent = event(entity)
    await publisher.publish(sent)
    for _ in range(3):  # the first delivery and the two allowed redeliveries
        await (await get_message(queue)).nack(requeue=True)

    dead = await get_message(await channel.get_queue(f"{name}.dead"))
    await dead.ack()
    assert from_message(dead) == sent
    assert death_reason(dead) == "delivery_limit"
    assert await queue.get(fail=False) is None


async def test_publish_many_delivers_each_message_exactly_once(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity, name = unique("bulk"), unique("bulk.")
    queue = await declare_work_queue(channel, name, routing_keys=[f"tests.{entity}.*"])
    sent = [event(entity, n=n) for n in range(500)]
    await publisher.publish_many(sent, chunk_size=100)

    received: list[Envelope] = []
    all_in = asyncio.Event()

    async def on_message(message: AbstractIncomingMessage) -> None:
        received.append(from_message(message))
        await message.ack()
        if len(received) >= len(sent):
            all_in.set()

    await channel.set_qos(prefetch_count=200)
    tag = await queue.consume(on_message)
    await asyncio.wait_for(all_in.wait(), timeout=10)
    await asyncio.sleep(0.2)  # room for a duplicate to show up
    await queue.cancel(tag)
    assert len(received) == len(sent)
    assert {e.id for e in received} == {e.id for e in sent}
    # Confirms were awaited in order, and the broker saw the publishes in order.
    assert [e.data["n"] for e in received] == list(range(500))


async def test_publish_many_routes_each_message_by_its_own_key_or_its_type(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity, special = unique("keyed"), unique("special.")
    by_type = await declare_work_queue(
        channel, unique("bytype."), routing_keys=[f"tests.{entity}.*"]
    )
    by_key = await declare_work_queue(channel, unique("bykey."), routing_keys=[special])
    sent = [event(entity, n=n) for n in range(10)]
    keyed = {envelope.id: special for envelope in sent if envelope.data["n"] % 3 == 0}
    await publisher.publish_many(sent, chunk_size=4, routing_keys=keyed)

    async def drain(queue: Any, count: int) -> list[int]:
        got = []
        for _ in range(count):
            message = await get_message(queue, timeout=5)
            got.append(from_message(message).data["n"])
            await message.ack()
        assert await queue.get(fail=False) is None  # nothing went to both queues
        return got

    assert await drain(by_key, 4) == [0, 3, 6, 9]
    assert await drain(by_type, 6) == [1, 2, 4, 5, 7, 8]


async def test_publish_many_reports_what_was_and_was_not_published(
    channel: AbstractChannel, publisher: Publisher
) -> None:
    entity = unique("mixed")
    await declare_work_queue(channel, unique("mixed."), routing_keys=[f"tests.{entity}.*"])
    routable = [event(entity, n=n) for n in range(4)]
    lost = event(unique("nobody"))
    later = event(entity)
    with pytest.raises(PublishManyFailed) as caught:
        await publisher.publish_many([*routable[:2], lost, *routable[2:], later], chunk_size=5)
    assert caught.value.published == [e.id for e in routable]
    assert list(caught.value.errors) == [lost.id]
    assert isinstance(caught.value.errors[lost.id], Unroutable)


async def test_publish_on_a_closed_channel_raises_broker_unavailable(
    connection: AbstractRobustConnection,
) -> None:
    pub = await Publisher.open(connection)
    await pub.close()
    with pytest.raises(BrokerUnavailable):
        await pub.publish(event("closed"))


async def test_robust_connection_recovers_after_the_broker_drops_it(vhost: Vhost) -> None:
    conn = await connect(vhost.url, name="reconnect")
    try:
        channel = await conn.channel()
        entity, name = unique("recover"), unique("rec.")
        queue = await declare_work_queue(channel, name, routing_keys=[f"tests.{entity}.*"])
        pub = await Publisher.open(conn, confirm_timeout=2)
        vhost.close_connections()
        # The connection, its channels and the queue's binding come back; a caller that
        # retries failed publishes (as the outbox relay does) gets through.
        sent = event(entity)
        failures: list[PublishFailed] = []
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                await pub.publish(sent)
                break
            except PublishFailed as exc:
                failures.append(exc)
                assert asyncio.get_running_loop().time() < deadline, "no recovery in 10s"
                await asyncio.sleep(0.1)
        # While it was down, publishing failed loudly (reconnecting takes ~1 s).
        assert failures
        assert all(isinstance(exc, BrokerUnavailable) for exc in failures)
        assert from_message(await get_message(queue)) == sent
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("body", "properties", "reason"),
    [
        (b"{not json", {}, "invalid envelope"),
        (b'{"type": "tests.x.created"}', {}, "invalid envelope"),
        (b'{"type": "Bad Type", "data": {}}', {}, "invalid envelope"),
        (b'{"type": "tests.x.created", "data": {}, "version": 0}', {}, "invalid envelope"),
        (None, {"content_type": "text/plain"}, "content type"),
        (None, {"message_id": str(uuid.uuid4())}, "differs from envelope id"),
    ],
)
def test_malformed_messages_are_recognised(
    body: bytes | None, properties: dict[str, Any], reason: str
) -> None:
    good = event("malformed")
    message = aio_pika.Message(body if body is not None else encode(good), **properties)
    with pytest.raises(MalformedMessage, match=reason):
        from_message(message)


def test_message_id_may_be_a_uuid_in_any_spelling() -> None:
    sent = event("spelling")
    message = to_message(sent)
    message.message_id = sent.id.hex
    assert from_message(message) == sent
