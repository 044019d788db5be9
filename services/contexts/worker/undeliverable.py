"""Tasks whose work the broker gave up on: marked failed so their jobs finish.

A ``contexts.task.requested`` message that reaches the delivery limit of
``contexts.generate`` (it killed the worker every time, or was handed back that often) is
dead-lettered; without this its task would stay ``queued`` and its job ``running``
forever, and ``POST .../retry`` would refuse it. The worker receives a copy of every such
dead letter and fails the task with :data:`UNDELIVERABLE_REASON`, in one transaction with
the job's counters and events, exactly like a last failed attempt. A task finished
meanwhile (a delivery that did get through) is left alone; the job then completes, as
``completed_with_errors``, and a retry re-queues the task.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from services.contexts.queues import UNDELIVERABLE_REASON, TaskRequested
from services.contexts.worker.task_store import fail_tasks
from shared.consumer import Delivery, Retries
from shared.db import driver_connection

logger = logging.getLogger("contexts.worker")


class UndeliverableTasks:
    """Handles batches of dead-lettered ``contexts.task.requested`` (a ``BatchHandler``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def __call__(self, deliveries: list[Delivery]) -> Retries:
        keys = set()
        for delivery in deliveries:
            request: TaskRequested = delivery.data
            keys.add((request.job_id, request.task_id))
        async with driver_connection(self.engine) as connection, connection.transaction():
            failed = await fail_tasks(connection, keys, reason=UNDELIVERABLE_REASON)
        for task in failed:
            logger.warning(
                "task failed: its work reached the delivery limit",
                extra={"job_id": str(task.key[0]), "task": task.key[1]},
            )
        return {}
