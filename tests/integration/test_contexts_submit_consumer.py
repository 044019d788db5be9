"""Job submission over AMQP: the submit consumer against real Postgres and RabbitMQ.

The consumer runs in this process on a scratch database (the contexts migrations) and a
scratch vhost; messages are published the way an outside producer would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import jwt
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from cryptography.hazmat.primitives import serialization
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from contexts_cli.project import read_project
from services.contexts.intake.consumer import submit_subscription
from services.contexts.queues import SUBMIT_EXCHANGE, SUBMIT_QUEUE, SUBMIT_ROUTING_KEY
from services.contexts.settings import ContextsSettings
from shared.consumer import REASON_HEADER, Consumer
from shared.messaging import connect, dead_letter_queue_name
from shared.platform import Broker
from shared.settings import REPO_ROOT
from shared.tokens import TokenIssuer, TokenVerifier, generate_key_pair
from tests.support.database import admin_execute, scratch_database
from tests.support.polling import eventually
from tests.support.processes import free_port
from tests.support.rabbit import Vhost, get_message, scratch_vhost
from tests.support.samples import SAMPLES
from tests.support.stack import JwtKeys
from tests.support.tcp_proxy import TcpProxy

ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
# Seconds the consumer may take to start consuming once the broker answers.
START_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("submit") as created:
        yield created


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    migrations = REPO_ROOT / "services" / "contexts" / "migrations"
    async with scratch_database("ctx_submit", migrations) as url:
        created = create_async_engine(url)
        yield created
        await created.dispose()


@pytest.fixture(scope="module")
def issuer(jwt_keys: JwtKeys) -> TokenIssuer:
    return TokenIssuer(jwt_keys.private_pem, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900)


def submit_consumer(broker: Broker, engine: AsyncEngine, keys: JwtKeys) -> Consumer:
    """The contexts service's submit consumer on ``broker`` (not started)."""
    verifier = TokenVerifier(keys.public_pem, issuer=ISSUER, audience=AUDIENCE)
    subscription = submit_subscription(ContextsSettings(), engine, verifier, broker)
    return Consumer(broker.connection, subscription)


@pytest.fixture(scope="module")
async def consumer(vhost: Vhost, engine: AsyncEngine, jwt_keys: JwtKeys) -> AsyncIterator[Consumer]:
    broker = Broker(vhost.url, name="contexts-submit")
    running = submit_consumer(broker, engine, jwt_keys)
    running.start()
    try:
        await asyncio.wait_for(running.started(), START_TIMEOUT)
        yield running
    finally:
        await running.stop()
        await broker.close()


@pytest.fixture(scope="module")
async def producer_connection(
    vhost: Vhost, consumer: Consumer
) -> AsyncIterator[AbstractRobustConnection]:
    connection = await connect(vhost.url, name="producer")
    yield connection
    await connection.close()


@pytest.fixture(scope="module")
async def producer(producer_connection: AbstractRobustConnection) -> AbstractChannel:
    return await producer_connection.channel(publisher_confirms=True)


def sample_body(shape: str = "flat") -> dict[str, Any]:
    return read_project(SAMPLES / shape).job_body(generator="template", regenerate=False)


class Requester:
    """Publishes submit messages and collects the replies on direct reply-to."""

    def __init__(self, channel: AbstractChannel) -> None:
        self.channel = channel
        self.replies: dict[str, asyncio.Future[AbstractIncomingMessage]] = {}

    async def start(self) -> Requester:
        queue = await self.channel.get_queue(DIRECT_REPLY_TO, ensure=False)
        await queue.consume(self._on_reply, no_ack=True)
        return self

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self.replies.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message)

    async def publish(
        self,
        body: bytes,
        *,
        token: str | None,
        message_id: str | None = None,
        reply_to: str | None = DIRECT_REPLY_TO,
        correlation_id: str | None = None,
    ) -> str:
        correlation_id = correlation_id or uuid.uuid4().hex
        self.replies[correlation_id] = asyncio.get_running_loop().create_future()
        headers: dict[str, Any] = {"authorization": f"Bearer {token}"} if token else {}
        exchange = await self.channel.get_exchange(SUBMIT_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                body,
                headers=headers,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id or str(uuid.uuid4()),
                correlation_id=correlation_id,
                reply_to=reply_to,
            ),
            SUBMIT_ROUTING_KEY,
            mandatory=True,
        )
        return correlation_id

    async def reply(self, correlation_id: str, timeout: float = 15.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.replies[correlation_id], timeout)
        assert message.correlation_id == correlation_id
        body: dict[str, Any] = json.loads(message.body)
        return body


@pytest.fixture(scope="module")
async def requester(producer: AbstractChannel) -> Requester:
    return await Requester(producer).start()


async def jobs_of(engine: AsyncEngine, user_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, user_id, status, total_tasks, sub_batches, correlation_id "
                "FROM contexts.jobs WHERE user_id = :user_id"
            ),
            {"user_id": uuid.UUID(user_id)},
        )
        return [dict(row._mapping) for row in rows]


async def dead_letter(
    channel: AbstractChannel, correlation_id: str, timeout: float = 10.0
) -> AbstractIncomingMessage:
    """The dead letter of the message published with ``correlation_id``."""
    queue = await channel.get_queue(dead_letter_queue_name(SUBMIT_QUEUE))
    deadline = time.monotonic() + timeout
    while True:
        message = await get_message(queue, timeout=max(0.1, deadline - time.monotonic()))
        await message.ack()
        if message.correlation_id == correlation_id:
            return message


async def test_a_job_submitted_with_reply_to_is_answered_with_its_id(
    requester: Requester, issuer: TokenIssuer, engine: AsyncEngine
) -> None:
    user_id = str(uuid.uuid4())
    body = json.dumps(sample_body("flat")).encode()

    correlation_id = await requester.publish(body, token=issuer.issue(user_id))
    reply = await requester.reply(correlation_id)

    assert reply["total_tasks"] == 24 and reply["sub_batches"] == 3
    jobs = await jobs_of(engine, user_id)
    assert [str(job["id"]) for job in jobs] == [reply["job_id"]]
    assert jobs[0]["correlation_id"] == correlation_id


async def test_the_reply_goes_to_a_named_queue_too(
    producer: AbstractChannel, requester: Requester, issuer: TokenIssuer
) -> None:
    replies = await producer.declare_queue(exclusive=True)
    body = json.dumps(sample_body("tree")).encode()

    correlation_id = await requester.publish(
        body, token=issuer.issue(str(uuid.uuid4())), reply_to=replies.name
    )
    message = await get_message(replies, timeout=15)

    assert message.correlation_id == correlation_id
    assert json.loads(message.body)["sub_batches"] == 2


def foreign_token() -> str:
    private, _ = generate_key_pair()
    return TokenIssuer(private, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900).issue(
        str(uuid.uuid4())
    )


def expired_token(keys: JwtKeys) -> str:
    """A token of the right key that expired an hour ago."""
    valid = TokenIssuer(keys.private_pem, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900)
    token = valid.issue(str(uuid.uuid4()))
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 3600
    key = serialization.load_pem_private_key(keys.private_pem, password=None)
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("token signed by another key", "unauthorized"),
        ("expired token", "Access token expired"),
        ("no authorization header", "Missing access token"),
        ("token without the contexts scope", "lacks the scope this request needs: contexts"),
        ("body not JSON", "body is not JSON"),
        ("unknown field in the body", "invalid job request"),
        ("duplicate task ids", "invalid job request"),
        ("body nested too deeply", "nested too deeply"),
        ("NUL character in a document", "documents['docs/prd.md']"),
    ],
)
async def test_unusable_submissions_are_dead_lettered_with_the_reason_and_create_nothing(
    case: str,
    reason: str,
    producer: AbstractChannel,
    requester: Requester,
    issuer: TokenIssuer,
    jwt_keys: JwtKeys,
    engine: AsyncEngine,
) -> None:
    user_id = str(uuid.uuid4())
    token: str | None = issuer.issue(user_id)
    good = sample_body("flat")
    body = json.dumps(good).encode()
    if case == "token signed by another key":
        token = foreign_token()
    elif case == "expired token":
        token = expired_token(jwt_keys)
    elif case == "no authorization header":
        token = None
    elif case == "token without the contexts scope":
        token = issuer.issue(user_id, scopes=frozenset({"chat", "todos:read"}))
    elif case == "body not JSON":
        body = b'{"registry": {"tasks": ['
    elif case == "unknown field in the body":
        body = json.dumps({**good, "priority": "high"}).encode()
    elif case == "duplicate task ids":
        registry = json.loads(good["registry"])  # the file's text, as the CLI sends it
        tasks = registry["tasks"]
        duplicated = {**good, "registry": {**registry, "tasks": [*tasks, tasks[0]]}}
        body = json.dumps(duplicated).encode()
    elif case == "body nested too deeply":
        body = b'{"registry": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    elif case == "NUL character in a document":
        body = json.dumps({**good, "documents": {"docs/prd.md": "a\u0000b"}}).encode()

    correlation_id = await requester.publish(body, token=token)

    refusal = await requester.reply(correlation_id)
    assert reason in refusal["error"]["message"]
    dead = await dead_letter(producer, correlation_id)
    assert reason in str(dead.headers[REASON_HEADER])
    assert dead.body == body
    assert "authorization" not in (dead.headers or {})  # the token is not kept around
    assert await jobs_of(engine, user_id) == []


async def test_the_consumer_goes_on_after_a_dead_lettered_message(
    producer: AbstractChannel, requester: Requester, issuer: TokenIssuer
) -> None:
    bad = await requester.publish(b"not json", token=issuer.issue(str(uuid.uuid4())))
    good = await requester.publish(
        json.dumps(sample_body("flat")).encode(), token=issuer.issue(str(uuid.uuid4()))
    )

    assert "job_id" in await requester.reply(good)
    await dead_letter(producer, bad)


async def test_a_redelivered_submission_creates_one_job_and_is_answered_again(
    requester: Requester, issuer: TokenIssuer, engine: AsyncEngine
) -> None:
    user_id = str(uuid.uuid4())
    token = issuer.issue(user_id)
    body = json.dumps(sample_body("flat")).encode()
    message_id = str(uuid.uuid4())
    correlation_id = uuid.uuid4().hex

    first = await requester.publish(
        body, token=token, message_id=message_id, correlation_id=correlation_id
    )
    first_reply = await requester.reply(first)
    again = await requester.publish(
        body, token=token, message_id=message_id, correlation_id=correlation_id
    )
    second_reply = await requester.reply(again)

    assert second_reply["job_id"] == first_reply["job_id"]
    assert len(await jobs_of(engine, user_id)) == 1


async def test_a_submission_without_reply_to_is_processed_silently(
    requester: Requester, issuer: TokenIssuer, engine: AsyncEngine
) -> None:
    user_id = str(uuid.uuid4())
    body = json.dumps(sample_body("flat")).encode()

    await requester.publish(body, token=issuer.issue(user_id), reply_to=None)

    deadline = time.monotonic() + 10
    while not await jobs_of(engine, user_id):
        assert time.monotonic() < deadline, "no job created"
        await asyncio.sleep(0.1)


async def test_without_a_broker_the_service_still_starts_and_stops_promptly(
    engine: AsyncEngine, jwt_keys: JwtKeys
) -> None:
    # Nothing listens on this port: the consumer keeps retrying in the background.
    broker = Broker(f"amqp://guest:guest@127.0.0.1:{free_port()}/none", name="no-broker")
    consumer = submit_consumer(broker, engine, jwt_keys)
    started = time.monotonic()

    consumer.start()
    assert time.monotonic() - started < 1  # the lifespan did not wait for the broker
    await asyncio.sleep(0.5)
    assert not consumer.is_consuming
    await consumer.stop()

    assert time.monotonic() - started < 5
    await broker.close()


async def submit_queue_consumers(connection: AbstractRobustConnection) -> int:
    """The broker's count right now (a robust channel answers a passive declare it made
    before from its cache: a channel of its own each time)."""
    async with connection.channel() as channel:
        queue = await channel.declare_queue(SUBMIT_QUEUE, passive=True)
        return queue.declaration_result.consumer_count or 0


async def test_a_consumer_started_while_the_broker_is_down_consumes_once_it_answers(
    vhost: Vhost,
    engine: AsyncEngine,
    jwt_keys: JwtKeys,
    producer_connection: AbstractRobustConnection,
) -> None:
    url = urlsplit(vhost.url)
    with TcpProxy(url.port or 5672, url.hostname or "127.0.0.1") as proxy:
        proxy.cut()  # the broker cannot be reached through the proxy
        broker = Broker(proxy.url_through(vhost.url), name="contexts-submit-late")
        late = submit_consumer(broker, engine, jwt_keys)
        late.start()
        try:
            await asyncio.sleep(0.5)
            assert not late.is_consuming
            assert await submit_queue_consumers(producer_connection) == 1  # the module's
            proxy.restore()
            await asyncio.wait_for(late.started(), START_TIMEOUT)
            assert late.is_consuming
            await eventually(lambda: submit_queue_consumers(producer_connection), lambda n: n == 2)
        finally:
            await late.stop()
            await broker.close()
    await eventually(lambda: submit_queue_consumers(producer_connection), lambda n: n == 1)


async def test_two_users_with_the_same_message_id_each_get_their_own_job(
    requester: Requester, issuer: TokenIssuer, engine: AsyncEngine
) -> None:
    body = json.dumps(sample_body("flat")).encode()
    message_id = str(uuid.uuid4())  # producers choose their ids: they can collide
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())

    first = await requester.publish(body, token=issuer.issue(alice), message_id=message_id)
    alice_reply = await requester.reply(first)
    second = await requester.publish(body, token=issuer.issue(bob), message_id=message_id)
    bob_reply = await requester.reply(second)

    (bobs_job,) = await jobs_of(engine, bob)
    assert bob_reply["job_id"] == str(bobs_job["id"]) != alice_reply["job_id"]


async def test_a_redelivered_message_is_answered_with_its_own_job_not_the_newest(
    requester: Requester, issuer: TokenIssuer
) -> None:
    token = issuer.issue(str(uuid.uuid4()))
    body = json.dumps(sample_body("flat")).encode()
    correlation_id = uuid.uuid4().hex  # one correlation id for all its messages
    older, newer = str(uuid.uuid4()), str(uuid.uuid4())

    await requester.publish(body, token=token, message_id=older, correlation_id=correlation_id)
    older_job = (await requester.reply(correlation_id))["job_id"]
    await requester.publish(body, token=token, message_id=newer, correlation_id=correlation_id)
    newer_job = (await requester.reply(correlation_id))["job_id"]
    await requester.publish(body, token=token, message_id=older, correlation_id=correlation_id)

    assert (await requester.reply(correlation_id))["job_id"] == older_job != newer_job


async def test_a_submission_during_a_database_outage_is_held_and_then_processed(
    requester: Requester,
    issuer: TokenIssuer,
    engine: AsyncEngine,
    consumer: Consumer,
    producer: AbstractChannel,
) -> None:
    database = engine.url.database
    policy = consumer.policy
    # The longest wait between two tries of a submission held during the outage.
    consumer.policy = replace(policy, max_retry_delay=0.5)
    user_id = str(uuid.uuid4())
    body = json.dumps(sample_body("flat")).encode()
    await admin_execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        await admin_execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
        )
        correlation_id = await requester.publish(body, token=issuer.issue(user_id))
        # Long enough for redeliveries with their backoff (1, 2, 4 s) to have started.
        await asyncio.sleep(8)
        assert not requester.replies[correlation_id].done()
    finally:
        await admin_execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        consumer.policy = policy

    # Answered as soon as the database is back (a requeued copy would wait 8 s more) ...
    reply = await requester.reply(correlation_id, timeout=3)
    (job,) = await jobs_of(engine, user_id)
    assert reply["job_id"] == str(job["id"])
    # ... and nothing was dead-lettered on the way.
    queue = await producer.get_queue(dead_letter_queue_name(SUBMIT_QUEUE))
    while (dead := await queue.get(fail=False)) is not None:
        await dead.ack()
        assert dead.correlation_id != correlation_id
