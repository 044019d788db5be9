"""SQL of the contexts worker: load a batch's tasks and its jobs' documents, record its
outcomes (or fail work the broker gave up on), move job progress.

A task row leaves ``queued`` exactly once. Every write here is conditional on
``status = 'queued'``, so when two deliveries of the same task race (a redelivery after a
crash, two replicas), the second one changes nothing, and the job counters move only by
the rows a statement actually changed. Rows and jobs are locked in key order, so two
workers writing overlapping batches wait for each other instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Result, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.models import OUTBOX, JobModel, TaskModel
from services.contexts.queues import JOB_COMPLETED, JOB_PROGRESS, JobEvent
from shared.outbox import record

TaskKey = tuple[uuid.UUID, str]  # (job_id, task_id)


@dataclass(frozen=True)
class StoredTask:
    """What the worker needs of a task row (and of its job) to handle one delivery."""

    job_id: uuid.UUID
    task_id: str
    status: str
    attempts: int
    spec: dict[str, Any]
    generator: str

    @property
    def key(self) -> TaskKey:
        return (self.job_id, self.task_id)


@dataclass(frozen=True)
class Outcome:
    """One attempt at a task: its markdown, or why it failed."""

    key: TaskKey
    markdown: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RecordedTask:
    """A task row the batch changed, and its status afterwards (``queued``: retry it)."""

    key: TaskKey
    status: str
    attempts: int


async def load_tasks(session: AsyncSession, keys: Iterable[TaskKey]) -> dict[TaskKey, StoredTask]:
    """The rows of ``keys`` that exist (a deleted job took its tasks along), in one query."""
    wanted = list(keys)
    if not wanted:
        return {}
    tasks, jobs = TaskModel.__table__, JobModel.__table__
    query = (
        tasks.select()
        .with_only_columns(
            tasks.c.job_id,
            tasks.c.task_id,
            tasks.c.status,
            tasks.c.attempts,
            tasks.c.spec,
            jobs.c.generator,
        )
        .join_from(tasks, jobs, jobs.c.id == tasks.c.job_id)
        .where(tuple_(tasks.c.job_id, tasks.c.task_id).in_(wanted))
    )
    rows = (await session.execute(query)).all()
    return {
        (row.job_id, row.task_id): StoredTask(
            row.job_id, row.task_id, row.status, row.attempts, row.spec, row.generator
        )
        for row in rows
    }


# One statement for the whole batch: a generated task becomes ``done``; a failed attempt
# counts, and the task becomes ``failed`` on the last allowed one (else it stays queued
# for a retry). The ``locked`` CTE takes the row locks in key order.
_RECORD_TASKS = text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:job_ids AS uuid[]), CAST(:task_ids AS text[]),
                             CAST(:markdowns AS text[]), CAST(:errors AS text[]))
               AS v(job_id, task_id, markdown, error)
    ), locked AS (
        SELECT t.job_id, t.task_id FROM contexts.tasks t
        JOIN v ON v.job_id = t.job_id AND v.task_id = t.task_id
        WHERE t.status = 'queued'
        ORDER BY t.job_id, t.task_id
        FOR UPDATE OF t
    )
    UPDATE contexts.tasks t SET
        attempts = t.attempts + 1,
        markdown = v.markdown,
        error = v.error,
        status = CASE WHEN v.markdown IS NOT NULL THEN 'done'
                      WHEN t.attempts + 1 >= :max_attempts THEN 'failed'
                      ELSE 'queued' END,
        finished_at = CASE WHEN v.markdown IS NOT NULL OR t.attempts + 1 >= :max_attempts
                           THEN now() END
    FROM v JOIN locked ON locked.job_id = v.job_id AND locked.task_id = v.task_id
    WHERE t.job_id = v.job_id AND t.task_id = v.task_id AND t.status = 'queued'
    RETURNING t.job_id, t.task_id, t.status, t.attempts
    """
)

# Work the broker gave up on (it reached the queue's delivery limit): the task fails with
# ``:reason``, exactly like a last failed attempt, unless another delivery finished it.
_FAIL_TASKS = text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:job_ids AS uuid[]), CAST(:task_ids AS text[]))
               AS v(job_id, task_id)
    ), locked AS (
        SELECT t.job_id, t.task_id FROM contexts.tasks t
        JOIN v ON v.job_id = t.job_id AND v.task_id = t.task_id
        WHERE t.status = 'queued'
        ORDER BY t.job_id, t.task_id
        FOR UPDATE OF t
    )
    UPDATE contexts.tasks t SET status = 'failed', error = :reason, markdown = NULL,
                                finished_at = now()
    FROM locked
    WHERE t.job_id = locked.job_id AND t.task_id = locked.task_id AND t.status = 'queued'
    RETURNING t.job_id, t.task_id, t.status, t.attempts
    """
)

# Job counters move by the rows changed; the job is running from its first batch and
# finished once every task is done or failed.
_ADVANCE_JOBS = text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:done AS int[]), CAST(:failed AS int[]))
               AS v(id, done, failed)
    ), locked AS (
        SELECT j.id FROM contexts.jobs j JOIN v ON v.id = j.id ORDER BY j.id FOR UPDATE OF j
    )
    UPDATE contexts.jobs j SET
        done = j.done + v.done,
        failed = j.failed + v.failed,
        started_at = coalesce(j.started_at, now()),
        status = CASE WHEN j.done + v.done + j.failed + v.failed < j.total_tasks THEN 'running'
                      WHEN j.failed + v.failed = 0 THEN 'completed'
                      ELSE 'completed_with_errors' END,
        finished_at = CASE WHEN j.done + v.done + j.failed + v.failed >= j.total_tasks
                           THEN now() END
    FROM v JOIN locked ON locked.id = v.id
    WHERE j.id = v.id
    RETURNING j.id, j.user_id, j.status, j.total_tasks, j.done, j.failed, j.correlation_id,
              v.done + v.failed AS moved
    """
)


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], *, max_attempts: int
) -> list[RecordedTask]:
    """Store the batch's outcomes, move its jobs, write their events; in the caller's
    transaction. Returns the task rows actually changed (none for a task another delivery
    finished meanwhile)."""
    if not outcomes:
        return []
    result = await session.execute(
        _RECORD_TASKS,
        {
            "job_ids": [outcome.key[0] for outcome in outcomes],
            "task_ids": [outcome.key[1] for outcome in outcomes],
            "markdowns": [outcome.markdown for outcome in outcomes],
            "errors": [outcome.error for outcome in outcomes],
            "max_attempts": max_attempts,
        },
    )
    return await _advance(session, result)


async def fail_tasks(
    session: AsyncSession, keys: Iterable[TaskKey], *, reason: str
) -> list[RecordedTask]:
    """Mark the still queued tasks of ``keys`` failed with ``reason``, move their jobs and
    write their events; in the caller's transaction. Returns the task rows changed."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    result = await session.execute(
        _FAIL_TASKS,
        {
            "job_ids": [key[0] for key in wanted],
            "task_ids": [key[1] for key in wanted],
            "reason": reason,
        },
    )
    return await _advance(session, result)


async def load_documents(
    session: AsyncSession, job_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    """The project documents stored once per job at intake ({path: text}), in one query."""
    wanted = list(job_ids)
    if not wanted:
        return {}
    jobs = JobModel.__table__
    query = select(jobs.c.id, jobs.c.documents).where(jobs.c.id.in_(wanted))
    return {row.id: dict(row.documents) for row in (await session.execute(query)).all()}


async def _advance_jobs(session: AsyncSession, recorded: Sequence[RecordedTask]) -> None:
    moves: dict[uuid.UUID, list[int]] = {}
    for task in recorded:
        counts = moves.setdefault(task.key[0], [0, 0])
        if task.status == "done":
            counts[0] += 1
        elif task.status == "failed":
            counts[1] += 1
    ids = sorted(moves)
    jobs = await session.execute(
        _ADVANCE_JOBS,
        {
            "ids": ids,
            "done": [moves[job_id][0] for job_id in ids],
            "failed": [moves[job_id][1] for job_id in ids],
        },
    )
    for job in jobs.all():
        if job.moved == 0:
            continue  # only retries were counted: no progress to announce
        event = JobEvent.of(job)
        await _announce(session, JOB_PROGRESS, job, event)
        if job.done + job.failed >= job.total_tasks:
            await _announce(session, JOB_COMPLETED, job, event)


async def _announce(session: AsyncSession, event_type: str, job: Any, event: JobEvent) -> None:
    await record(
        session, OUTBOX, event_type, event, user_id=job.user_id, correlation_id=job.correlation_id
    )


async def _advance(session: AsyncSession, result: Result[Any]) -> list[RecordedTask]:
    """Move the jobs of the task rows an UPDATE ... RETURNING changed; return those rows."""
    recorded = [
        RecordedTask((row.job_id, row.task_id), row.status, row.attempts) for row in result.all()
    ]
    if recorded:
        await _advance_jobs(session, recorded)
    return recorded
