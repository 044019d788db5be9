"""The messages a change of a job writes in its own transaction (docs/design.md §4).

One ``contexts.task.requested`` per task to run, for the work outbox (the relay publishes
them through the default exchange to ``contexts.generate``), and the job's lifecycle
events (``contexts.job.<verb>``, to the owner) for the events outbox. Intake writes both
for a new job, a retry for the tasks it queues again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.models import OUTBOX
from services.contexts.queues import TASK_REQUESTED, JobEvent, TaskRequested
from shared.messaging import Envelope
from shared.outbox import record


@dataclass(frozen=True)
class WorkFor:
    """Whose work messages: the job, its owner and the correlation id they carry."""

    job_id: uuid.UUID
    user_id: uuid.UUID
    correlation_id: str


def work_messages(work: WorkFor, task_ids: list[str]) -> list[Envelope]:
    return [
        Envelope(
            type=TASK_REQUESTED,
            user_id=work.user_id,
            data=msgspec.to_builtins(TaskRequested(job_id=work.job_id, task_id=task_id)),
            correlation_id=work.correlation_id,
        )
        for task_id in task_ids
    ]


async def announce(session: AsyncSession, job: Row[Any], kind: str, correlation: str) -> None:
    """A ``contexts.job.<verb>`` event for the owner, in the change's transaction."""
    await record(
        session,
        OUTBOX,
        kind,
        JobEvent.of(job._mapping),
        user_id=job.user_id,
        correlation_id=correlation,
    )
