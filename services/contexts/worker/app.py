"""Wires the contexts worker: ``granian --interface asgi --factory
services.contexts.worker.app:create_app``.

The HTTP side serves only ``/health/*`` and ``/metrics``; the work happens in the
lifespan, which runs the batch consumer of ``contexts.generate``, the consumer of the
work the broker gave up on (``contexts.generate.undeliverable``, see
:mod:`services.contexts.worker.undeliverable`) and the relay of the job events the worker
writes to ``contexts.outbox``. While the database does not answer, both consumers hold
their batch and take no other (see :mod:`shared.consumer.runtime`). On SIGTERM granian
ends the lifespan: the consumers stop taking deliveries, the batch in flight finishes and
is acked, the relay publishes what is committed, and the process exits. Several
replicas share the queues.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import openai
from litestar import Litestar
from litestar.types import ASGIApp
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contexts.generation.generators import Generator, LlmGenerator, TemplateGenerator
from services.contexts.models import JOB_EVENTS_LINGER, OUTBOX
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
from shared.consumer import Policy, Subscription, envelopes, work_queue
from shared.db import database_check
from shared.platform import (
    BrokerPlugin,
    ConsumerPlugin,
    DatabasePlugin,
    OutboxPlugin,
    Relay,
    ServicePlugin,
    serve,
)
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


def generate_subscription(
    engine: AsyncEngine, generator_for: GeneratorFor, settings: WorkerSettings
) -> Subscription:
    """``contexts.generate`` in batches, handled by :class:`BatchWorker`."""
    handler = BatchWorker(
        engine,
        generator_for,
        max_attempts=settings.worker_max_attempts,
        retry_backoff=settings.worker_retry_backoff_seconds,
    )
    return Subscription(
        GENERATE_QUEUE,
        handler,
        envelopes({(TASK_REQUESTED, 1): TaskRequested}),
        work_queue(GENERATE_QUEUE, delivery_limit=GENERATE_DELIVERY_LIMIT),
        _policy(engine, settings),
    )


def undeliverable_subscription(engine: AsyncEngine, settings: WorkerSettings) -> Subscription:
    """The dead-lettered work of ``contexts.generate``: fails its tasks."""
    return Subscription(
        GENERATE_UNDELIVERABLE_QUEUE,
        UndeliverableTasks(engine),
        envelopes({(TASK_REQUESTED, 1): TaskRequested}),
        work_queue(GENERATE_UNDELIVERABLE_QUEUE),
        # What the generate consumer dead-lettered as unreadable stays in its dead queue.
        replace(_policy(engine, settings), dead_letter_unreadable=False),
        dead_letters_of=GENERATE_QUEUE,
    )


def _policy(engine: AsyncEngine, settings: WorkerSettings) -> Policy:
    return Policy(
        batch_size=settings.worker_batch_size,
        batch_wait=settings.worker_batch_wait_seconds,
        concurrency=settings.worker_concurrency,
        # A batch that failed as a whole while the database answers waits this long
        # before going back to the queue, doubling per delivery; while the database is
        # down it is held and polled for at this interval, doubling, instead.
        retry_delay=settings.worker_retry_backoff_seconds,
        dependency_up=database_check(engine),
        stop_grace=settings.worker_stop_grace_seconds,
    )


def create_app() -> ASGIApp:
    settings = load_settings(WorkerSettings)
    # A job adds up to 20,000 task rows at once: a generic plan made while the statistics
    # still counted a few rows scanned every task for each batch (PostgreSQL CPU for a
    # 10,000-task job 12 s -> 75 s). The worker's statements are small to plan.
    database = DatabasePlugin(settings, custom_plans=True)
    broker = BrokerPlugin(settings)
    generators = Generators(settings)

    def subscriptions() -> list[Subscription]:
        return [  # dead letters first: none slips past it
            undeliverable_subscription(database.engine, settings),
            generate_subscription(database.engine, generators, settings),
        ]

    @asynccontextmanager
    async def model_client(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await generators.close()

    app = Litestar(
        route_handlers=[],
        lifespan=[model_client],
        plugins=[
            ServicePlugin(settings, title="Contexts worker", authenticate=False),
            database,
            broker,
            # Listed before the consumers: stopped after them, so the events of the last
            # batch (committed by then) are published before the process exits.
            OutboxPlugin(database, broker, [Relay(OUTBOX, linger=JOB_EVENTS_LINGER)]),
            ConsumerPlugin(broker, subscriptions),
        ],
    )
    return serve(app)
