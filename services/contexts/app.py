"""Wires the contexts service (``services.contexts.app:create_app`` under granian).

Besides the HTTP API, the process runs two outbox relays (job events -> ``events``; task
messages -> the default exchange -> ``contexts.generate``) and the AMQP submit consumer.
None of them needs the broker at start-up: they retry in the background, and committed
rows simply wait in the outboxes until it answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractChannel
from litestar import Litestar
from litestar.types import ASGIApp

from services.contexts.intake.consumer import submit_subscription
from services.contexts.jobs.controller import JobController
from services.contexts.jobs.metrics import job_counts_hook
from services.contexts.models import JOB_EVENTS_LINGER, OUTBOX, WORK_OUTBOX
from services.contexts.queues import GENERATE_DELIVERY_LIMIT, GENERATE_QUEUE
from services.contexts.results.controller import ResultsController
from services.contexts.settings import ContextsSettings
from shared.consumer import Subscription
from shared.messaging import declare_work_queue
from shared.metrics import register_scrape_hook
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


async def declare_generate_queue(channel: AbstractChannel) -> None:
    """The work queue exists before the first task message is published to it."""
    await declare_work_queue(channel, GENERATE_QUEUE, delivery_limit=GENERATE_DELIVERY_LIMIT)


def create_app() -> ASGIApp:
    settings = load_settings(ContextsSettings)
    service = ServicePlugin(settings, title="Contexts service")
    database, broker = DatabasePlugin(settings), BrokerPlugin(settings)

    def subscriptions() -> list[Subscription]:
        # Submissions over AMQP are part of this service's work: ready only while consuming.
        return [
            submit_subscription(settings, database.engine, service.token_verifier, broker.broker)
        ]

    @asynccontextmanager
    async def job_counts(_: Litestar) -> AsyncIterator[None]:
        unregister = register_scrape_hook(
            job_counts_hook(database.engine, settings.metrics_counts_interval)
        )
        try:
            yield
        finally:
            unregister()

    app = Litestar(
        route_handlers=[JobController, ResultsController],
        lifespan=[job_counts],
        plugins=[
            service,
            database,
            broker,
            OutboxPlugin(
                database,
                broker,
                [
                    Relay(OUTBOX, linger=JOB_EVENTS_LINGER),
                    Relay(
                        WORK_OUTBOX,
                        exchange="",  # each row's routing key is its queue
                        prepare=declare_generate_queue,
                        batch_size=settings.work_relay_batch_size,
                    ),
                ],
            ),
            ConsumerPlugin(broker, subscriptions),
        ],
        request_max_body_size=settings.max_body_bytes,
    )
    return serve(app)
