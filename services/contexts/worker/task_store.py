"""SQL of the contexts worker: load a batch's tasks and its jobs' documents, record its
outcomes (or fail work the broker gave up on), move job progress.

A task row leaves ``queued`` exactly once. Every write here is conditional on
``status = 'queued'``, so when two deliveries of the same task race (a redelivery after a
crash, two replicas), the second one changes nothing, and the job counters move only by
the rows a statement actually changed. Rows and jobs are locked in key order, so two
workers writing overlapping batches wait for each other instead of deadlocking.

Every batch runs these statements, so they run on a bare asyncpg connection
(:func:`shared.db.driver_connection`): through the ORM session they cost the worker more
CPU than generating and checking the ten documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg
import msgspec

from services.contexts.models import OUTBOX
from services.contexts.queues import JOB_COMPLETED, JOB_PROGRESS, JobEvent
from shared.messaging import Envelope
from shared.outbox import add_events, event_envelope

TaskKey = tuple[uuid.UUID, str]  # (job_id, task_id)


@dataclass(frozen=True)
class StoredTask:
    """What the worker needs of a task row (and of its job) to handle one delivery."""

    job_id: uuid.UUID
    task_id: str
    status: str
    attempts: int
    spec: str  # the planned task, as JSON
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


# Every statement finds its task rows by ``job_id = ANY(..) AND task_id = ANY(..)``: the
# primary key's index then serves it whatever the planner believes of the table's size (a
# join with the unnested keys alone was planned as a scan of every task while a job's rows
# were still being written, and the table's statistics lagged). The pairs are then matched
# exactly (by the join, or in Python for the load).
_LOAD_TASKS = """
    SELECT t.job_id, t.task_id, t.status, t.attempts, t.spec::text AS spec, j.generator
    FROM contexts.tasks t JOIN contexts.jobs j ON j.id = t.job_id
    WHERE t.job_id = ANY($1::uuid[]) AND t.task_id = ANY($2::text[])
"""


async def load_tasks(
    connection: asyncpg.Connection, keys: Iterable[TaskKey]
) -> dict[TaskKey, StoredTask]:
    """The rows of ``keys`` that exist (a deleted job took its tasks along), in one query."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = await connection.fetch(
        _LOAD_TASKS, [key[0] for key in wanted], [key[1] for key in wanted]
    )
    found = (StoredTask(*row.values()) for row in rows)
    keys_wanted = set(wanted)  # several jobs in a batch: ANY x ANY may pair them wrongly
    return {task.key: task for task in found if task.key in keys_wanted}


# One statement for the whole batch: a generated task becomes ``done``; a failed attempt
# counts, and the task becomes ``failed`` on the last allowed one (else it stays queued
# for a retry). The ``locked`` CTE takes the row locks in key order.
_RECORD_TASKS = """
    WITH v AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
               AS v(job_id, task_id, markdown, error)
    ), locked AS (
        SELECT t.job_id, t.task_id FROM contexts.tasks t
        JOIN v ON v.job_id = t.job_id AND v.task_id = t.task_id
        WHERE t.job_id = ANY($1::uuid[]) AND t.task_id = ANY($2::text[])
          AND t.status = 'queued'
        ORDER BY t.job_id, t.task_id
        FOR UPDATE OF t
    )
    UPDATE contexts.tasks t SET
        attempts = t.attempts + 1,
        markdown = v.markdown,
        error = v.error,
        status = CASE WHEN v.markdown IS NOT NULL THEN 'done'
                      WHEN t.attempts + 1 >= $5 THEN 'failed'
                      ELSE 'queued' END,
        finished_at = CASE WHEN v.markdown IS NOT NULL OR t.attempts + 1 >= $5
                           THEN now() END
    FROM v JOIN locked ON locked.job_id = v.job_id AND locked.task_id = v.task_id
    WHERE t.job_id = v.job_id AND t.task_id = v.task_id AND t.status = 'queued'
      AND t.job_id = ANY($1::uuid[]) AND t.task_id = ANY($2::text[])
    RETURNING t.job_id, t.task_id, t.status, t.attempts
"""

# Work the broker gave up on (it reached the queue's delivery limit): the task fails with
# the reason ($3), exactly like a last failed attempt, unless another delivery finished it.
_FAIL_TASKS = """
    WITH v AS (
        SELECT * FROM unnest($1::uuid[], $2::text[]) AS v(job_id, task_id)
    ), locked AS (
        SELECT t.job_id, t.task_id FROM contexts.tasks t
        JOIN v ON v.job_id = t.job_id AND v.task_id = t.task_id
        WHERE t.job_id = ANY($1::uuid[]) AND t.task_id = ANY($2::text[])
          AND t.status = 'queued'
        ORDER BY t.job_id, t.task_id
        FOR UPDATE OF t
    )
    UPDATE contexts.tasks t SET status = 'failed', error = $3, markdown = NULL,
                                finished_at = now()
    FROM locked
    WHERE t.job_id = locked.job_id AND t.task_id = locked.task_id AND t.status = 'queued'
      AND t.job_id = ANY($1::uuid[]) AND t.task_id = ANY($2::text[])
    RETURNING t.job_id, t.task_id, t.status, t.attempts
"""

# Job counters move by the rows changed; the job is running from its first batch and
# finished once every task is done or failed. Its times are read once its row is locked
# (clock_timestamp, not the transaction's start): batches commit in parallel, and the one
# that started first may commit last.
_ADVANCE_JOBS = """
    WITH v AS (
        SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[]) AS v(id, done, failed)
    ), locked AS (
        SELECT j.id FROM contexts.jobs j JOIN v ON v.id = j.id ORDER BY j.id FOR UPDATE OF j
    )
    UPDATE contexts.jobs j SET
        done = j.done + v.done,
        failed = j.failed + v.failed,
        started_at = coalesce(j.started_at, clock_timestamp()),
        status = CASE WHEN j.done + v.done + j.failed + v.failed < j.total_tasks THEN 'running'
                      WHEN j.failed + v.failed = 0 THEN 'completed'
                      ELSE 'completed_with_errors' END,
        finished_at = CASE WHEN j.done + v.done + j.failed + v.failed >= j.total_tasks
                           THEN clock_timestamp() END
    FROM v JOIN locked ON locked.id = v.id
    WHERE j.id = v.id
    RETURNING j.id, j.user_id, j.status, j.total_tasks, j.done, j.failed, j.correlation_id,
              v.done + v.failed AS moved
"""


async def record_outcomes(
    connection: asyncpg.Connection, outcomes: Sequence[Outcome], *, max_attempts: int
) -> list[RecordedTask]:
    """Store the batch's outcomes, move its jobs, write their events; in the caller's
    transaction. Returns the task rows actually changed (none for a task another delivery
    finished meanwhile)."""
    if not outcomes:
        return []
    rows = await connection.fetch(
        _RECORD_TASKS,
        [outcome.key[0] for outcome in outcomes],
        [outcome.key[1] for outcome in outcomes],
        [outcome.markdown for outcome in outcomes],
        [outcome.error for outcome in outcomes],
        max_attempts,
    )
    return await _advance(connection, rows)


async def fail_tasks(
    connection: asyncpg.Connection, keys: Iterable[TaskKey], *, reason: str
) -> list[RecordedTask]:
    """Mark the still queued tasks of ``keys`` failed with ``reason``, move their jobs and
    write their events; in the caller's transaction. Returns the task rows changed."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = await connection.fetch(
        _FAIL_TASKS, [key[0] for key in wanted], [key[1] for key in wanted], reason
    )
    return await _advance(connection, rows)


async def load_documents(
    connection: asyncpg.Connection, job_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    """The project documents stored once per job at intake ({path: text}), in one query."""
    wanted = list(job_ids)
    if not wanted:
        return {}
    rows = await connection.fetch(
        "SELECT id, documents::text FROM contexts.jobs WHERE id = ANY($1::uuid[])", wanted
    )
    return {row[0]: msgspec.json.decode(row[1], type=dict[str, str]) for row in rows}


async def _advance(
    connection: asyncpg.Connection, rows: Sequence[asyncpg.Record]
) -> list[RecordedTask]:
    """Move the jobs of the task rows an UPDATE ... RETURNING changed, write their events
    (one statement for the batch); return those rows."""
    recorded = [
        RecordedTask((row["job_id"], row["task_id"]), row["status"], row["attempts"])
        for row in rows
    ]
    if not recorded:
        return recorded
    moves: dict[uuid.UUID, list[int]] = {}
    for task in recorded:
        counts = moves.setdefault(task.key[0], [0, 0])
        if task.status == "done":
            counts[0] += 1
        elif task.status == "failed":
            counts[1] += 1
    ids = sorted(moves)
    jobs = await connection.fetch(
        _ADVANCE_JOBS,
        ids,
        [moves[job_id][0] for job_id in ids],
        [moves[job_id][1] for job_id in ids],
    )
    events: list[Envelope] = []
    for job in jobs:
        if job["moved"] == 0:
            continue  # only retries were counted: no progress to announce
        event = JobEvent.of(job)
        finished = job["done"] + job["failed"] >= job["total_tasks"]
        for event_type in (JOB_PROGRESS, JOB_COMPLETED) if finished else (JOB_PROGRESS,):
            events.append(
                event_envelope(
                    event_type, event, user_id=job["user_id"], correlation_id=job["correlation_id"]
                )
            )
    await add_events(connection, OUTBOX, events)
    return recorded
