"""Wires the contexts service (``services.contexts.app:create_app`` under granian).

Besides the HTTP API, the process runs two outbox relays (job events -> ``events``; task
messages -> the default exchange -> ``contexts.generate``) and the AMQP submit consumer.
None of them needs the broker at start-up: they retry in the background, and committed
rows simply wait in the outboxes until it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractChannel
from litestar import Litestar
from litestar.types import ASGIApp

from services.contexts.controllers import JobController
from services.contexts.job_metrics import job_counts_hook
from services.contexts.models import OUTBOX, WORK_OUTBOX
from services.contexts.queues import GENERATE_DELIVERY_LIMIT, GENERATE_QUEUE
from services.contexts.results_controller import ResultsController
from services.contexts.settings import ContextsSettings
from services.contexts.submit_consumer import submit_consumer
from shared.auth_middleware import bearer_auth
from shared.health import Dependency
from shared.messaging import close_connection, declare_work_queue
from shared.metrics import register_scrape_hook
from shared.outbox import OutboxRelay, amqp_publisher_factory
from shared.service_app import build_app
from shared.settings import load_settings


async def declare_generate_queue(channel: AbstractChannel) -> None:
    """The work queue exists before the first task message is published to it."""
    await declare_work_queue(channel, GENERATE_QUEUE, delivery_limit=GENERATE_DELIVERY_LIMIT)


def create_app() -> ASGIApp:
    settings = load_settings(ContextsSettings)

    @asynccontextmanager
    async def relays(app: Litestar) -> AsyncIterator[None]:
        name = settings.service_name
        events = OutboxRelay(
            app.state.engine, OUTBOX, amqp_publisher_factory(settings.amqp_url, name=name)
        )
        work = OutboxRelay(
            app.state.engine,
            WORK_OUTBOX,
            amqp_publisher_factory(
                settings.amqp_url, name=name, exchange="", prepare=declare_generate_queue
            ),
            batch_size=settings.work_relay_batch_size,
        )
        await events.start()
        await work.start()
        unregister = register_scrape_hook(
            job_counts_hook(app.state.engine, settings.metrics_counts_interval)
        )
        try:
            yield
        finally:
            unregister()
            await asyncio.gather(work.stop(), events.stop())

    intake: list[Callable[[], Awaitable[bool]]] = []  # the submit consumer's readiness

    @asynccontextmanager
    async def submissions(app: Litestar) -> AsyncIterator[None]:
        try:
            async with submit_consumer(
                settings, app.state.engine, app.state.token_verifier
            ) as consuming:
                intake[:] = [consuming]
                yield
        finally:
            intake.clear()
            await close_connection()

    async def broker_ready() -> bool:
        """Submissions over AMQP are part of this service's work: ready only while consuming."""
        return bool(intake) and await intake[0]()

    return build_app(
        settings,
        title="Contexts service",
        route_handlers=[JobController, ResultsController],
        middleware=[bearer_auth()],
        lifespan=[submissions, relays],
        request_max_body_size=settings.max_body_bytes,
        readiness=[Dependency("broker", broker_ready)],
    )
