"""The messaging contract of context generation: queues, message types and their bodies.

- Intake writes one ``contexts.task.requested`` envelope per selected task to its work
  outbox; the relay publishes them through the default exchange to the quorum queue
  ``contexts.generate``, which the worker consumes in batches of ten.
- Work the broker gives up on (the delivery limit) is dead-lettered to
  ``contexts.generate.dead``; the worker also receives a copy of it and marks its task
  failed, so the job finishes and can be retried.
- Outside producers submit whole jobs by publishing the POST body to exchange
  ``contexts`` with routing key ``jobs.submit`` (see docs/messaging.md).
- Job lifecycle events go to ``events`` as ``contexts.job.<verb>``, addressed to the
  job's owner, so they reach the owner's live event stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

GENERATE_QUEUE = "contexts.generate"
# The broker's backstop: the worker marks a task failed itself after a few attempts, far
# below this; only a message that kills the worker every time reaches the limit.
GENERATE_DELIVERY_LIMIT = 20
TASK_REQUESTED = "contexts.task.requested"  # version 1, data: TaskRequested
# The worker's copy of everything dead-lettered from ``contexts.generate`` (bound to
# ``dead-letters`` with ``contexts.generate.dead``, next to the dead-letter queue itself,
# which keeps its copy for people): each task in it is marked failed with this reason.
GENERATE_UNDELIVERABLE_QUEUE = "contexts.generate.undeliverable"
UNDELIVERABLE_REASON = "delivery limit reached"

SUBMIT_EXCHANGE = "contexts"
SUBMIT_ROUTING_KEY = "jobs.submit"
SUBMIT_QUEUE = "contexts.jobs.submit"

JOB_ACCEPTED = "contexts.job.accepted"  # version 1, data: JobEvent
JOB_PROGRESS = "contexts.job.progress"
JOB_COMPLETED = "contexts.job.completed"


class TaskRequested(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    job_id: uuid.UUID
    task_id: str


class JobEvent(msgspec.Struct, kw_only=True):
    job_id: uuid.UUID
    status: str
    total_tasks: int
    done: int
    failed: int

    @classmethod
    def of(cls, job: Mapping[Any, Any]) -> JobEvent:
        """The event of a job row's ``id``, ``status``, ``total_tasks``, ``done``, ``failed``
        (an asyncpg record, or a SQLAlchemy row's ``_mapping``)."""
        return cls(
            job_id=job["id"],
            status=job["status"],
            total_tasks=job["total_tasks"],
            done=job["done"],
            failed=job["failed"],
        )
