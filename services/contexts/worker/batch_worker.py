"""The contexts worker's batch handler: up to ten ``contexts.task.requested`` at a time.

For one batch (see :mod:`shared.consumer.runtime` for how deliveries are collected):

1. load the batch's task rows in one query; a task already ``done`` or ``failed`` (a
   redelivery, a second worker, a crash after the commit) is acked without being redone,
   and so is a task whose job no longer exists;
2. fill in each task's excerpts from its job's documents (stored once per job, cached
   per process), generate the tasks concurrently, each with its job's generator, and
   verify each;
3. in ONE transaction store every outcome (conditional on the row still being queued),
   move the jobs' counters and statuses, and write their progress/completed events to
   the outbox; commit;
4. only then are the deliveries acked (by the consumer, when this handler returns).

Retries: a failed attempt (a generator error, a model error, a document that fails
verification) is counted in the task row (``attempts``, ``error``) in the same
transaction, so the count survives crashes and is shared by every replica. While attempts
remain, the delivery is handed back to the queue after a backoff that doubles per attempt
(the consumer holds it unacked meanwhile, so nothing is lost if the worker dies); the
last allowed attempt marks the task failed with its reason, and the delivery is acked.
Counting in the row rather than in the quorum queue's ``x-delivery-count`` keeps crashes
and redeliveries of a task whose attempt never ran from using up its attempts.

A database error anywhere raises: nothing is marked, and the consumer keeps the batch,
unacked, until the database answers again, then hands it over once more (see
:mod:`shared.consumer.runtime`); an outage uses none of the queue's delivery limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contexts.generation.documents import attach_excerpts
from services.contexts.generation.generators import Generator
from services.contexts.generation.planned_task import PlannedTask
from services.contexts.generation.verification import verify_context
from services.contexts.queues import TaskRequested
from services.contexts.worker.job_documents import JobDocuments
from services.contexts.worker.task_store import (
    Outcome,
    RecordedTask,
    StoredTask,
    TaskKey,
    load_tasks,
    record_outcomes,
)
from shared.consumer import Delivery, Retries
from shared.db import driver_connection

logger = logging.getLogger("contexts.worker")

# The longest error text kept in a task row (a model may answer with a whole page).
MAX_ERROR_CHARS = 2000

GeneratorFor = Callable[[str], Generator]  # the job's ``generator`` column -> a generator


class IncompleteContext(Exception):
    """A generated document failed verification."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("verification failed: " + "; ".join(problems))


class BatchWorker:
    """Handles batches of ``contexts.task.requested`` deliveries (a ``BatchHandler``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        generator_for: GeneratorFor,
        *,
        max_attempts: int = 3,
        retry_backoff: float = 1.0,
    ) -> None:
        self.engine = engine
        self.generator_for = generator_for
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.documents = JobDocuments()

    async def __call__(self, deliveries: list[Delivery]) -> Retries:
        by_key: dict[TaskKey, list[Delivery]] = {}
        for delivery in deliveries:
            request: TaskRequested = delivery.data
            by_key.setdefault((request.job_id, request.task_id), []).append(delivery)

        async with driver_connection(self.engine) as connection:
            stored = await load_tasks(connection, by_key.keys())
            todo = [task for task in stored.values() if task.status == "queued"]
            documents = await self.documents.of(connection, {task.job_id for task in todo})
        for key in by_key.keys() - stored.keys():
            logger.warning("task not found; acked", extra={"job_id": str(key[0]), "task": key[1]})
        if not todo:  # everything already stored (or gone): ack all
            logger.info("batch already stored", extra={"deliveries": len(deliveries)})
            return {}

        outcomes = await asyncio.gather(
            *(self._attempt(task, documents.get(task.job_id, {})) for task in todo)
        )
        async with driver_connection(self.engine) as connection, connection.transaction():
            recorded = await record_outcomes(connection, outcomes, max_attempts=self.max_attempts)

        retries: dict[Delivery, float] = {}
        for task in recorded:
            if task.status == "queued":  # attempts remain: see it again after the backoff
                delay = self.retry_backoff * 2 ** (task.attempts - 1)
                retries.update((delivery, delay) for delivery in by_key[task.key])
        self._log(outcomes, recorded, len(deliveries))
        return retries

    async def _attempt(self, task: StoredTask, documents: Mapping[str, str]) -> Outcome:
        """Generate and verify one task; a failure becomes the outcome's error."""
        try:
            planned = attach_excerpts(msgspec.json.decode(task.spec, type=PlannedTask), documents)
            markdown = await self.generator_for(task.generator).generate(planned)
            problems = verify_context(markdown, planned)
            if problems:
                raise IncompleteContext(problems)
        except Exception as exc:  # any failure of one task is that task's, not the batch's
            reason = str(exc) if isinstance(exc, IncompleteContext) else _describe(exc)
            return Outcome(task.key, error=reason[:MAX_ERROR_CHARS])
        return Outcome(task.key, markdown=markdown)

    def _log(self, outcomes: list[Outcome], recorded: list[RecordedTask], deliveries: int) -> None:
        failures = [outcome for outcome in outcomes if outcome.error is not None]
        for outcome in failures:
            logger.warning(
                "context attempt failed",
                extra={
                    "job_id": str(outcome.key[0]),
                    "task": outcome.key[1],
                    "error": outcome.error,
                },
            )
        logger.info(
            "batch stored",
            extra={
                "deliveries": deliveries,
                "generated": len(outcomes) - len(failures),
                "failed_attempts": len(failures),
                "rows_changed": len(recorded),
                "job_ids": sorted({str(outcome.key[0]) for outcome in outcomes}),
            },
        )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
