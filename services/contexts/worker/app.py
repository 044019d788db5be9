"""Wires the contexts worker: ``granian --interface asgi --factory
services.contexts.worker.app:create_app``.

The HTTP side serves only ``/health/*`` and ``/metrics``; the work happens in the
lifespan, which runs the batch consumer of ``contexts.generate``, the consumer of the
work the broker gave up on (``contexts.generate.undeliverable``, see
:mod:`services.contexts.worker.undeliverable`) and the relay of the job events the worker
writes to ``contexts.outbox``. While the database does not answer, both consumers hold
their batch and take no other (see :mod:`shared.consumer.batch`). On SIGTERM granian
ends the lifespan: the consumers stop taking deliveries, the batch in flight finishes and
is acked, the relay publishes what is committed, and the process exits. Several
replicas share the queues.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import openai
from aio_pika.abc import AbstractConnection
from litestar import Litestar
from litestar.types import ASGIApp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.contexts.generation.generators import Generator, LlmGenerator, TemplateGenerator
from services.contexts.models import OUTBOX
from services.contexts.queues import (
    GENERATE_DELIVERY_LIMIT,
    GENERATE_QUEUE,
    GENERATE_UNDELIVERABLE_QUEUE,
    TASK_REQUESTED,
    TaskRequested,
)
from services.contexts.worker.batch_worker import BatchWorker, GeneratorFor
from services.contexts.worker.settings import WorkerSettings
from services.contexts.worker.undeliverable import UndeliverableTasks
from shared.consumer.batch import BatchConsumer
from shared.db import database_check
from shared.health import Dependency
from shared.messaging import close_connection, get_connection
from shared.outbox import OutboxRelay, amqp_publisher_factory
from shared.service_app import build_app
from shared.settings import load_settings


class Generators:
    """The process's generators; the model client is made once, on first use."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.template = TemplateGenerator()
        self._client: openai.AsyncOpenAI | None = None
        self._llm: LlmGenerator | None = None

    def __call__(self, name: str) -> Generator:
        if name != "llm":
            return self.template
        if self._llm is None:
            self._client = openai.AsyncOpenAI(
                base_url=self.settings.openai_base_url or None,
                # A missing key fails each attempt with the provider's 401, recorded as
                # the task's error, instead of failing the whole worker at start-up.
                api_key=self.settings.openai_api_key or "not-configured",
                timeout=self.settings.llm_timeout_seconds,
                # The worker retries failed tasks itself (counted, with backoff).
                max_retries=0,
            )
            self._llm = LlmGenerator(self._client, self.settings.contexts_model)
        return self._llm

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


def generate_consumer(
    connection: AbstractConnection,
    sessionmaker: async_sessionmaker[AsyncSession],
    generator_for: GeneratorFor,
    settings: WorkerSettings,
) -> BatchConsumer:
    """The consumer of ``contexts.generate`` in batches, handled by :class:`BatchWorker`."""
    handler = BatchWorker(
        sessionmaker,
        generator_for,
        max_attempts=settings.worker_max_attempts,
        retry_backoff=settings.worker_retry_backoff_seconds,
    )
    return BatchConsumer(
        connection,
        GENERATE_QUEUE,
        handler,
        accepts={(TASK_REQUESTED, 1): TaskRequested},
        batch_size=settings.worker_batch_size,
        batch_wait=settings.worker_batch_wait_seconds,
        delivery_limit=GENERATE_DELIVERY_LIMIT,
        # A batch that failed as a whole while the database answers waits this long
        # before going back to the queue, doubling per delivery; while the database is
        # down it is held and polled for at this interval, doubling, instead.
        retry_delay=settings.worker_retry_backoff_seconds,
        dependency_up=database_check(sessionmaker),
    )


def undeliverable_consumer(
    connection: AbstractConnection,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: WorkerSettings,
) -> BatchConsumer:
    """The consumer of the dead-lettered work of ``contexts.generate``: fails its tasks."""
    return BatchConsumer(
        connection,
        GENERATE_UNDELIVERABLE_QUEUE,
        UndeliverableTasks(sessionmaker),
        accepts={(TASK_REQUESTED, 1): TaskRequested},
        batch_size=settings.worker_batch_size,
        batch_wait=settings.worker_batch_wait_seconds,
        retry_delay=settings.worker_retry_backoff_seconds,
        dependency_up=database_check(sessionmaker),
        dead_letters_of=GENERATE_QUEUE,
        # What the generate consumer dead-lettered as unreadable stays in its dead queue.
        dead_letter_malformed=False,
    )


def create_app() -> ASGIApp:
    settings = load_settings(WorkerSettings)
    consumers: list[BatchConsumer] = []  # filled while the lifespan runs

    async def consuming() -> bool:
        """Ready only while every consumer's channel to the broker is open."""
        return bool(consumers) and all(consumer.is_consuming for consumer in consumers)

    @asynccontextmanager
    async def worker(app: Litestar) -> AsyncIterator[None]:
        connection = await get_connection(settings.amqp_url, name=settings.service_name)
        relay = OutboxRelay(
            app.state.engine,
            OUTBOX,
            amqp_publisher_factory(settings.amqp_url, name=settings.service_name),
        )
        generators = Generators(settings)
        consumers[:] = [
            generate_consumer(connection, app.state.sessionmaker, generators, settings),
            undeliverable_consumer(connection, app.state.sessionmaker, settings),
        ]
        try:
            await relay.start()
            for consumer in reversed(consumers):  # dead letters first: none slips past it
                await consumer.start()
            yield
        finally:
            # Together, so the grace period bounds the whole stop, not each consumer's.
            await asyncio.gather(
                *(c.stop(grace_period=settings.worker_stop_grace_seconds) for c in consumers)
            )
            await relay.stop()  # after the last batch: its events are committed by now
            await generators.close()
            await close_connection()

    return build_app(
        settings,
        title="Contexts worker",
        route_handlers=[],
        lifespan=[worker],
        readiness=[Dependency("broker", consuming)],
    )
