"""The contexts worker's batch handler, consuming a real queue (scratch vhost) and writing
to a database of this module's own; jobs are created by the intake function itself.

The database is the module's own because the worker's events go through the outbox table
``contexts.outbox``: on the run's shared database the relays of the contexts processes
that end-to-end tests leave running would claim some of the rows and publish them to
their own vhost, and this module's event assertions would miss them."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.contexts.generation.generators import TemplateGenerator
from services.contexts.generation.planned_task import PlannedTask
from services.contexts.generation.verification import verify_context
from services.contexts.intake.schemas import JobRequest
from services.contexts.intake.submission import submit_job
from services.contexts.jobs.service import retry_job
from services.contexts.models import OUTBOX, JobModel, TaskModel
from services.contexts.queues import (
    GENERATE_DELIVERY_LIMIT,
    GENERATE_QUEUE,
    JOB_COMPLETED,
    JOB_PROGRESS,
    TASK_REQUESTED,
    TaskRequested,
)
from services.contexts.worker.app import (
    Generators,
    generate_subscription,
    undeliverable_subscription,
)
from services.contexts.worker.settings import WorkerSettings
from shared.consumer import Consumer, Delivery, Retries
from shared.messaging import (
    Envelope,
    Publisher,
    connect,
    declare_exchanges,
    declare_work_queue,
)
from shared.outbox import OutboxRelay
from shared.platform import Broker
from shared.settings import REPO_ROOT
from tests.support.database import scratch_database
from tests.support.openai_server import OpenAIServer, Reply, error_reply, text_reply
from tests.support.polling import eventually
from tests.support.processes import free_port
from tests.support.rabbit import Vhost, get_message, queue_counts, scratch_vhost

CONTEXTS_MIGRATIONS = REPO_ROOT / "services" / "contexts" / "migrations"
KINDS = ("endpoint", "service", "repository", "validator", "util")
# Seconds a consumer may take to start consuming once the broker answers.
START_TIMEOUT = 10.0


def flat_registry(count: int) -> dict[str, Any]:
    """A flat registry of ``count`` ready backend function tasks, all five kinds."""
    tasks = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        function: dict[str, Any] = {
            "name": f"handleItem{i}",
            "kind": kind,
            "module": "items",
            "description": f"Handles item {i}",
            "signature": f"async def handle_item_{i}(item_id: UUID) -> dict",
            "parameters": [
                {"name": "item_id", "type": "UUID", "required": True,
                 "description": "The item", "validation": "uuid"},
            ],
            "returns": {"type": "dict", "description": "The item"},
            "spec_refs": [],
        }  # fmt: skip
        if kind == "endpoint":
            function["http"] = {
                "method": "GET", "route": f"/api/v1/items/{i}", "auth": "required",
                "status_codes": [200, 404],
            }  # fmt: skip
        if kind == "repository":
            function["database"] = [{"table": "items", "operations": ["SELECT"]}]
        tasks.append(
            {
                "id": f"backend_task_{i + 1:05d}",
                "title": f"Implement handleItem{i}",
                "category": "backend",
                "type": "function",
                "level": 3,
                "status": "ready",
                "function": function,
                "dependencies": [],
                "frontend_dependencies": [],
            }
        )
    return {"version": 1, "tasks": tasks}


@pytest.fixture(scope="module")
def vhost() -> Iterator[Vhost]:
    with scratch_vhost("contexts_worker") as created:
        yield created


@pytest.fixture(scope="module")
async def worker_database() -> AsyncIterator[str]:
    async with scratch_database("test_contexts_worker", CONTEXTS_MIGRATIONS) as url:
        yield url


@pytest.fixture(scope="module")
async def engine(worker_database: str) -> AsyncIterator[AsyncEngine]:
    created = create_async_engine(worker_database, pool_size=5)
    yield created
    await created.dispose()


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture(scope="module")
async def producer(vhost: Vhost) -> AsyncIterator[AbstractRobustConnection]:
    conn = await connect(vhost.url, name="producer")
    async with conn.channel() as channel:
        await declare_work_queue(channel, GENERATE_QUEUE, delivery_limit=GENERATE_DELIVERY_LIMIT)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def job_events(producer: AbstractRobustConnection) -> AsyncIterator[AbstractQueue]:
    """Every ``contexts.job.*`` event the worker publishes (through its events relay)."""
    channel = await producer.channel()
    events, _ = await declare_exchanges(channel)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(events, routing_key="contexts.job.*")
    yield queue
    await channel.close()


@pytest.fixture(scope="module")
async def events_relay(engine: AsyncEngine, vhost: Vhost) -> AsyncIterator[OutboxRelay]:
    conn = await connect(vhost.url, name="relay")

    async def publisher() -> Publisher:
        return await Publisher.open(conn)

    relay = OutboxRelay(engine, OUTBOX, publisher, poll_interval=0.5)
    await relay.start()
    yield relay
    await relay.stop()
    await conn.close()


async def consuming(consumer: Consumer) -> Consumer:
    """``consumer`` started, once it consumes (it starts in the background)."""
    consumer.start()
    await asyncio.wait_for(consumer.started(), START_TIMEOUT)
    assert consumer.is_consuming
    return consumer


StartWorker = Callable[..., Awaitable[Consumer]]


@pytest.fixture
async def start_worker(
    vhost: Vhost, engine: AsyncEngine, events_relay: OutboxRelay
) -> AsyncIterator[StartWorker]:
    """Start the worker's generate consumer in this process, with settings overridden."""
    started: list[tuple[Consumer, Broker, Generators]] = []

    async def start(**overrides: Any) -> Consumer:
        settings = WorkerSettings(
            **{
                "worker_retry_backoff_seconds": 0.05,
                "worker_stop_grace_seconds": 10.0,
                "openai_api_key": "test",
                **overrides,
            }
        )
        broker = Broker(vhost.url, name="worker")
        generators = Generators(settings)
        consumer = Consumer(broker.connection, generate_subscription(engine, generators, settings))
        assert consumer.policy.stop_grace == settings.worker_stop_grace_seconds
        started.append((consumer, broker, generators))
        return await consuming(consumer)

    yield start
    for consumer, broker, generators in started:
        await consumer.stop()  # within the settings' stop grace
        await generators.close()
        await broker.close()


async def create_job(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    generator: str = "template",
    *,
    registry: dict[str, Any] | None = None,
    documents: dict[str, str] | None = None,
) -> tuple[uuid.UUID, uuid.UUID, list[str]]:
    """Submit a job through the intake function; (job id, owner, task ids in order)."""
    user_id = uuid.uuid4()
    body = {
        "registry": registry or flat_registry(count),
        "documents": documents or {},
        "options": {"generator": generator},
    }
    request = msgspec.convert(body, JobRequest)
    async with sessions() as session, session.begin():
        view = await submit_job(session, user_id=user_id, request=request, correlation_id=None)
    job_id = uuid.UUID(str(view.job_id))
    async with sessions() as session:
        task_ids = list(
            await session.scalars(
                select(TaskModel.task_id)
                .where(TaskModel.job_id == job_id)
                .order_by(TaskModel.position)
            )
        )
    assert len(task_ids) == count
    return job_id, user_id, task_ids


def work(job_id: uuid.UUID, user_id: uuid.UUID, task_id: str) -> Envelope:
    data = msgspec.to_builtins(TaskRequested(job_id=job_id, task_id=task_id))
    return Envelope(type=TASK_REQUESTED, user_id=user_id, data=data)


async def publish_work(conn: AbstractRobustConnection, envelopes: list[Envelope]) -> None:
    publisher = await Publisher.open(conn, exchange="")
    try:
        for envelope in envelopes:
            await publisher.publish(envelope, GENERATE_QUEUE)
    finally:
        await publisher.close()


async def job_row(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> Any:
    async with sessions() as session:
        return (await session.execute(select(JobModel).where(JobModel.id == job_id))).scalar_one()


async def task_rows(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> list[Any]:
    async with sessions() as session:
        query = select(TaskModel).where(TaskModel.job_id == job_id).order_by(TaskModel.position)
        return list(await session.scalars(query))


async def finished(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> bool:
    return (await job_row(sessions, job_id)).finished_at is not None


async def events_of(queue: AbstractQueue, job_id: uuid.UUID) -> list[Envelope]:
    """The job events waiting in ``queue`` for ``job_id`` (others are dropped)."""
    found = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        envelope = msgspec.json.decode(message.body, type=Envelope)
        if envelope.data["job_id"] == str(job_id):
            found.append(envelope)
    return found


async def events_until_completed(queue: AbstractQueue, job_id: uuid.UUID) -> list[Envelope]:
    """The job's events up to its ``contexts.job.completed`` (waiting for it)."""
    collected: list[Envelope] = []

    async def completed_arrived() -> bool:
        collected.extend(await events_of(queue, job_id))
        return any(e.type == JOB_COMPLETED for e in collected)

    await eventually(completed_arrived, timeout=10)
    return collected


async def test_every_task_of_a_job_gets_one_verified_context_and_the_job_completes(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
    job_events: AbstractQueue,
    vhost: Vhost,
) -> None:
    job_id, user_id, task_ids = await create_job(sessions, 25)
    await start_worker()
    await publish_work(producer, [work(job_id, user_id, task_id) for task_id in task_ids])
    await eventually(lambda: finished(sessions, job_id), timeout=30)

    job = await job_row(sessions, job_id)
    assert (job.status, job.done, job.failed, job.total_tasks) == ("completed", 25, 0, 25)
    assert job.started_at is not None and job.started_at <= job.finished_at
    for row in await task_rows(sessions, job_id):
        assert row.status == "done" and row.attempts == 1 and row.error is None
        planned = msgspec.convert(row.spec, PlannedTask)
        assert verify_context(row.markdown, planned) == []
        assert row.task_id in row.markdown and row.function_name in row.markdown

    # One progress event per committed batch: the tasks of a batch share its transaction's
    # finished_at, and each event counts the tasks done up to and including its batch.
    batch_sizes = Counter(row.finished_at for row in await task_rows(sessions, job_id))
    done_after_each = list(itertools.accumulate(size for _, size in sorted(batch_sizes.items())))
    assert len(done_after_each) >= 3  # batches of at most ten
    collected = await events_until_completed(job_events, job_id)
    progress = [e for e in collected if e.type == JOB_PROGRESS]
    assert [e.data["done"] for e in progress] == done_after_each
    assert progress[-1].data == {
        "job_id": str(job_id), "status": "completed", "total_tasks": 25, "done": 25, "failed": 0,
    }  # fmt: skip
    assert all(e.user_id == user_id for e in collected)
    await eventually(lambda: queue_counts(vhost, producer, GENERATE_QUEUE), lambda n: n == (0, 0))


async def test_each_context_quotes_the_sections_its_task_points_to_in_the_jobs_documents(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = flat_registry(3)
    for n, task in enumerate(registry["tasks"]):
        task["function"]["spec_refs"] = [f"docs/prd.md#rule-{n}"]
    rules = "".join(
        f"## Rule {n}\n\nItem handler {n} must check QUOTA-{n}77.\n\n" for n in range(3)
    )
    job_id, user_id, task_ids = await create_job(
        sessions, 3, registry=registry, documents={"docs/prd.md": f"# Items\n\n{rules}"}
    )
    await start_worker()
    await publish_work(producer, [work(job_id, user_id, task_id) for task_id in task_ids])
    await eventually(lambda: finished(sessions, job_id), timeout=30)
    for n, row in enumerate(await task_rows(sessions, job_id)):
        assert row.status == "done", row.error
        assert f"Item handler {n} must check QUOTA-{n}77." in row.markdown
        assert all(f"QUOTA-{other}77" not in row.markdown for other in range(3) if other != n)
        assert "QUOTA" not in str(row.spec)  # stored once with the job, not per task


async def test_redelivered_work_for_stored_tasks_is_acked_without_a_second_context(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
    job_events: AbstractQueue,
    vhost: Vhost,
) -> None:
    job_id, user_id, task_ids = await create_job(sessions, 12)
    await start_worker()
    first = [work(job_id, user_id, task_id) for task_id in task_ids]
    await publish_work(producer, first)
    await eventually(lambda: finished(sessions, job_id), timeout=30)
    before = [
        (r.task_id, r.markdown, r.finished_at, r.attempts)
        for r in await task_rows(sessions, job_id)
    ]
    await events_until_completed(job_events, job_id)

    # The very same messages again (a redelivery), and new copies (a relay publishing twice).
    await publish_work(producer, first + [work(job_id, user_id, t) for t in task_ids])
    await eventually(lambda: queue_counts(vhost, producer, GENERATE_QUEUE), lambda n: n == (0, 0))
    after = [
        (r.task_id, r.markdown, r.finished_at, r.attempts)
        for r in await task_rows(sessions, job_id)
    ]
    assert after == before
    job = await job_row(sessions, job_id)
    assert (job.status, job.done, job.failed) == ("completed", 12, 0)
    await asyncio.sleep(1)
    assert await events_of(job_events, job_id) == []  # nothing changed, nothing announced


def template_markdown_for(spec: dict[str, Any]) -> Callable[[], Awaitable[str]]:
    async def render() -> str:
        return await TemplateGenerator().generate(msgspec.convert(spec, PlannedTask))

    return render


async def test_a_model_that_fails_twice_then_answers_is_retried_until_the_task_is_done(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job_id, user_id, task_ids = await create_job(sessions, 1, generator="llm")
    (row,) = await task_rows(sessions, job_id)
    # A valid document for this task: what the template generator writes for it.
    document = await template_markdown_for(row.spec)()
    answers = iter([error_reply(500, "overloaded"), error_reply(503), text_reply(document)])

    def handler(_body: dict[str, Any]) -> Reply:
        return next(answers)

    with OpenAIServer(handler) as server:
        await start_worker(openai_base_url=server.base_url)
        await publish_work(producer, [work(job_id, user_id, task_ids[0])])
        await eventually(lambda: finished(sessions, job_id), timeout=30)
        assert len(server.requests) == 3
    (row,) = await task_rows(sessions, job_id)
    assert (row.status, row.attempts, row.error, row.markdown) == ("done", 3, None, document)
    job = await job_row(sessions, job_id)
    assert (job.status, job.done, job.failed) == ("completed", 1, 0)


async def test_a_model_that_always_writes_an_incomplete_document_fails_the_task_with_the_reason(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
    job_events: AbstractQueue,
) -> None:
    job_id, user_id, task_ids = await create_job(sessions, 3, generator="llm")
    rows = await task_rows(sessions, job_id)
    good = {row.function_name: await template_markdown_for(row.spec)() for row in rows[1:]}

    def handler(body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"])
        for name, document in good.items():
            if name in prompt and rows[0].function_name not in prompt:
                return text_reply(document)
        return text_reply("# Context\n\nFunction Overview only, the rest is missing.")

    with OpenAIServer(handler) as server:
        await start_worker(openai_base_url=server.base_url)
        await publish_work(producer, [work(job_id, user_id, t) for t in task_ids])
        await eventually(lambda: finished(sessions, job_id), timeout=30)
        bad_requests = [r for r in server.requests if rows[0].function_name in str(r["messages"])]
    failed, *done = await task_rows(sessions, job_id)
    assert (failed.status, failed.attempts, failed.markdown) == ("failed", 3, None)
    assert failed.error.startswith("verification failed: ")
    assert len(bad_requests) == 3
    assert [(row.status, row.attempts) for row in done] == [("done", 1), ("done", 1)]
    job = await job_row(sessions, job_id)
    assert (job.status, job.done, job.failed) == ("completed_with_errors", 2, 1)

    collected = await events_until_completed(job_events, job_id)
    (completed,) = [e for e in collected if e.type == JOB_COMPLETED]
    assert completed.data["status"] == "completed_with_errors"
    assert (completed.data["done"], completed.data["failed"]) == (2, 1)


class DatabaseSwitch:
    """A TCP proxy in front of the module's Postgres that refuses connections until
    :meth:`switch_on`: a database outage for one engine, with nothing shared stopped."""

    def __init__(self, database_url: str) -> None:
        target = make_url(database_url)
        self.target = (target.host or "127.0.0.1", target.port or 5432)
        port = free_port()
        self.url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        self.port = port
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def switch_on(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        for pipe in self._pipes:
            pipe.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        pipes = {
            asyncio.create_task(pipe(reader, upstream_writer)),
            asyncio.create_task(pipe(upstream_reader, writer)),
        }
        self._pipes |= pipes
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes -= pipes


async def test_during_a_database_outage_the_work_is_held_without_using_its_delivery_limit(
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
    worker_database: str,
    vhost: Vhost,
) -> None:
    job_id, user_id, task_ids = await create_job(sessions, 4)
    switch = DatabaseSwitch(worker_database)
    engine = create_async_engine(switch.url)
    broker = Broker(vhost.url, name="worker-during-outage")
    settings = WorkerSettings(worker_retry_backoff_seconds=0.05, worker_stop_grace_seconds=5.0)
    subscription = generate_subscription(engine, Generators(settings), settings)
    deliveries_before: list[int] = []  # the broker's count of each delivery the worker got
    handle = subscription.handler

    async def counting(deliveries: list[Delivery]) -> Retries | None:
        deliveries_before.extend(delivery.previous_deliveries for delivery in deliveries)
        return await handle(deliveries)

    consumer = Consumer(broker.connection, replace(subscription, handler=counting))
    try:
        await consuming(consumer)
        await publish_work(producer, [work(job_id, user_id, t) for t in task_ids])
        await asyncio.sleep(1.5)  # requeued at 0.05, 0.1, 0.2, ... s this would count 5+
        assert {row.status for row in await task_rows(sessions, job_id)} == {"queued"}
        assert (await job_row(sessions, job_id)).status == "queued"
        assert await queue_counts(vhost, producer, GENERATE_QUEUE) == (0, 4)  # held, unacked
        await switch.switch_on()
        await eventually(lambda: finished(sessions, job_id), timeout=15)
    finally:
        await consumer.stop()
        await broker.close()
        await engine.dispose()
        await switch.close()
    # Nothing was lost, nothing attempted twice, and no delivery counted toward the limit.
    rows = await task_rows(sessions, job_id)
    assert [(row.status, row.attempts) for row in rows] == [("done", 1)] * 4
    assert deliveries_before and set(deliveries_before) == {0}
    await eventually(lambda: queue_counts(vhost, producer, GENERATE_QUEUE), lambda n: n == (0, 0))


async def test_work_the_broker_gives_up_on_fails_its_task_so_the_job_finishes_and_can_be_retried(
    start_worker: StartWorker,
    producer: AbstractRobustConnection,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    job_events: AbstractQueue,
    vhost: Vhost,
) -> None:
    job_id, user_id, (doomed, fine) = await create_job(sessions, 2)
    broker = Broker(vhost.url, name="worker-dead-letters")
    settings = WorkerSettings(worker_retry_backoff_seconds=0.05, worker_stop_grace_seconds=5.0)
    dead_letters = Consumer(broker.connection, undeliverable_subscription(engine, settings))
    try:
        await consuming(dead_letters)
        # A consumer that dies on the doomed task's work every time hands it back until
        # the broker dead-letters it (x-death reason delivery_limit).
        await publish_work(producer, [work(job_id, user_id, doomed)])
        async with producer.channel() as channel:
            queue = await channel.get_queue(GENERATE_QUEUE)
            for _ in range(GENERATE_DELIVERY_LIMIT + 1):
                message = await get_message(queue)
                await message.nack(requeue=True)

        async def doomed_row() -> Any:
            return next(r for r in await task_rows(sessions, job_id) if r.task_id == doomed)

        await eventually(doomed_row, lambda row: row.status == "failed")
        row = await doomed_row()
        assert (row.error, row.markdown) == ("delivery limit reached", None)
        assert (await job_row(sessions, job_id)).failed == 1

        await start_worker()
        await publish_work(producer, [work(job_id, user_id, fine)])
        await eventually(lambda: finished(sessions, job_id), timeout=15)
    finally:
        await dead_letters.stop()
        await broker.close()
    job = await job_row(sessions, job_id)
    assert (job.status, job.done, job.failed) == ("completed_with_errors", 1, 1)
    collected = await events_until_completed(job_events, job_id)
    (completed,) = [e for e in collected if e.type == JOB_COMPLETED]
    assert (completed.data["status"], completed.data["failed"]) == ("completed_with_errors", 1)

    async with sessions() as session, session.begin():  # the caller's unit of work commits
        view = await retry_job(session, user_id, job_id)  # not 409 "still running"
    assert (view.status, view.failed) == ("running", 0)
    requeued = next(r for r in await task_rows(sessions, job_id) if r.task_id == doomed)
    assert (requeued.status, requeued.error) == ("queued", None)
