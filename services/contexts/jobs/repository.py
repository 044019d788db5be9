"""SQL of the contexts API over ``contexts.jobs`` and ``contexts.tasks``.

Every read of a job takes the owner's id: another user's job is simply not found. The
functions run in the caller's transaction and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, func, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.models import JobModel, TaskModel

JOBS = cast(Table, JobModel.__table__)
TASKS = cast(Table, TaskModel.__table__)
# Columns that can be megabytes: read only where they are used.
_LARGE_JOB_COLUMNS = ("registry", "documents")
_JOB_STATE = [column for column in JOBS.c if column.name not in _LARGE_JOB_COLUMNS]

# The tasks of a job travel as parallel arrays unnested by Postgres: one statement and one
# round trip for 20,000 tasks, whatever the driver's limit on bind parameters.
_INSERT_TASKS = text(
    """
    INSERT INTO contexts.tasks
        (job_id, task_id, position, batch_index, kind, function_name, context_file, spec)
    SELECT :job_id, t.task_id, t.position, t.batch_index, t.kind, t.function_name,
           t.context_file, t.spec::jsonb
    FROM unnest(CAST(:task_ids AS text[]), CAST(:positions AS int[]),
                CAST(:batches AS int[]), CAST(:kinds AS text[]), CAST(:names AS text[]),
                CAST(:files AS text[]), CAST(:specs AS text[]))
         AS t(task_id, position, batch_index, kind, function_name, context_file, spec)
    """
)


async def insert_job(session: AsyncSession, values: dict[str, Any]) -> Row[Any]:
    """Insert a job; the row as stored (with its server-side timestamps), without the
    registry and documents it was given."""
    statement = insert(JOBS).values(**values).returning(*_JOB_STATE)
    return (await session.execute(statement)).one()


# A job of at least this many tasks refreshes the table's statistics as it is written.
ANALYZE_AFTER_TASKS = 1_000


async def insert_tasks(
    session: AsyncSession, job_id: uuid.UUID, tasks: Sequence[dict[str, Any]]
) -> None:
    """Insert the selected tasks; each dict has the ``contexts.tasks`` columns, ``spec`` as
    JSON text."""
    if not tasks:
        return
    await session.execute(
        _INSERT_TASKS,
        {
            "job_id": job_id,
            "task_ids": [task["task_id"] for task in tasks],
            "positions": [task["position"] for task in tasks],
            "batches": [task["batch_index"] for task in tasks],
            "kinds": [task["kind"] for task in tasks],
            "names": [task["function_name"] for task in tasks],
            "files": [task["context_file"] for task in tasks],
            "specs": [task["spec"] for task in tasks],
        },
    )
    if len(tasks) >= ANALYZE_AFTER_TASKS:
        # The planner's statistics still describe the table before this job: its id is
        # unknown to them, so each of the worker's batches was planned as if the job had
        # a row or two and read all of the job's rows to find its ten (a 10,000-task job
        # took 21 s instead of 8). Autovacuum refreshes them a minute later at the
        # earliest, when a job like that is done. ANALYZE counts this transaction's own
        # rows; what it finds is seen from the commit on.
        await session.execute(text("ANALYZE contexts.tasks (job_id, task_id, status)"))


async def snapshot(session: AsyncSession) -> None:
    """Make the caller's transaction one read-only snapshot (REPEATABLE READ): every read
    that follows sees the same committed state, however many commits the worker makes
    meanwhile. The first statement of the transaction."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


async def get_job(
    session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID, *, for_update: bool = False
) -> Row[Any] | None:
    """The job with its registry text (not its documents, which only the worker reads)."""
    columns = [c for c in JOBS.c if c.name != "documents"]
    query = select(*columns).where(JOBS.c.id == job_id, JOBS.c.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).one_or_none()


async def job_progress(
    session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID
) -> Row[Any] | None:
    """The job's state and counters only: what a progress stream reads at every look."""
    query: Select[Any] = select(
        JOBS.c.id,
        JOBS.c.status,
        JOBS.c.total_tasks,
        JOBS.c.done,
        JOBS.c.failed,
        JOBS.c.finished_at,
    ).where(JOBS.c.id == job_id, JOBS.c.user_id == user_id)
    return (await session.execute(query)).one_or_none()


async def list_jobs(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """The user's jobs, newest first, starting strictly after ``after`` (a page cursor)."""
    query = select(*_JOB_STATE).where(JOBS.c.user_id == user_id)
    if after is not None:
        query = query.where(tuple_(JOBS.c.created_at, JOBS.c.id) < tuple_(*after))
    query = query.order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc()).limit(limit)
    return (await session.execute(query)).all()


_STATUS_COUNTS = (
    func.count().label("size"),
    func.count().filter(TASKS.c.status == "done").label("done"),
    func.count().filter(TASKS.c.status == "failed").label("failed"),
)


async def batch_counts(session: AsyncSession, job_id: uuid.UUID) -> Sequence[Row[Any]]:
    """(batch_index, size, done, failed) of each sub-batch, in order."""
    query = (
        select(TASKS.c.batch_index, *_STATUS_COUNTS)
        .where(TASKS.c.job_id == job_id)
        .group_by(TASKS.c.batch_index)
        .order_by(TASKS.c.batch_index)
    )
    return (await session.execute(query)).all()


async def progress_counts(
    session: AsyncSession, job_id: uuid.UUID
) -> tuple[list[Row[Any]], dict[str, int]]:
    """:func:`batch_counts` and the number of tasks of each kind, from ONE scan of the
    job's tasks (grouping sets): a job resource of 20,000 tasks is read several times a
    second while a client watches it."""
    by_kind = func.grouping(TASKS.c.kind) == 0  # the row is a kind's, not a batch's
    query = (
        select(TASKS.c.batch_index, TASKS.c.kind, by_kind.label("by_kind"), *_STATUS_COUNTS)
        .where(TASKS.c.job_id == job_id)
        .group_by(func.grouping_sets(TASKS.c.batch_index, TASKS.c.kind))
        .order_by(TASKS.c.batch_index)
    )
    rows = (await session.execute(query)).all()
    batches = [row for row in rows if not row.by_kind]
    return batches, {row.kind: row.size for row in rows if row.by_kind}


async def list_tasks(session: AsyncSession, job_id: uuid.UUID) -> Sequence[Row[Any]]:
    """The job's tasks in registry order, without their (large) spec and markdown; the
    spec's warnings come as ``warnings``."""
    query: Select[Any] = (
        select(
            TASKS.c.task_id,
            TASKS.c.position,
            TASKS.c.batch_index,
            TASKS.c.kind,
            TASKS.c.function_name,
            TASKS.c.context_file,
            TASKS.c.status,
            TASKS.c.error,
            TASKS.c.spec["warnings"].label("warnings"),
        )
        .where(TASKS.c.job_id == job_id)
        .order_by(TASKS.c.position)
    )
    return (await session.execute(query)).all()


async def get_task(session: AsyncSession, job_id: uuid.UUID, task_id: str) -> Row[Any] | None:
    query = select(TASKS).where(TASKS.c.job_id == job_id, TASKS.c.task_id == task_id)
    return (await session.execute(query)).one_or_none()


async def done_context_files(session: AsyncSession, job_id: uuid.UUID) -> dict[str, str]:
    """``{task_id: context_file}`` of the tasks whose context is stored."""
    query = (
        select(TASKS.c.task_id, TASKS.c.context_file)
        .where(TASKS.c.job_id == job_id, TASKS.c.status == "done")
        .order_by(TASKS.c.position)
    )
    return {task_id: path for task_id, path in (await session.execute(query)).all()}


async def batch_sizes(session: AsyncSession, job_id: uuid.UUID) -> dict[int, int]:
    """``{batch_index: number of tasks}``; fixed once the job is written."""
    query = (
        select(TASKS.c.batch_index, func.count())
        .where(TASKS.c.job_id == job_id)
        .group_by(TASKS.c.batch_index)
    )
    return {index: size for index, size in (await session.execute(query)).all()}


FinishedKey = tuple[datetime, int]  # (finished_at, position): the order tasks finished in


async def finished_tasks(
    session: AsyncSession, job_id: uuid.UUID, *, after: FinishedKey | None = None
) -> Sequence[Row[Any]]:
    """The job's finished tasks (done or failed) in the order they finished, only those
    strictly after ``after`` when it is given (a keyset cursor)."""
    query: Select[Any] = select(
        TASKS.c.task_id,
        TASKS.c.position,
        TASKS.c.function_name,
        TASKS.c.kind,
        TASKS.c.batch_index,
        TASKS.c.status,
        TASKS.c.error,
        TASKS.c.context_file,
        TASKS.c.finished_at,
    ).where(TASKS.c.job_id == job_id, TASKS.c.status != "queued")
    if after is not None:
        query = query.where(tuple_(TASKS.c.finished_at, TASKS.c.position) > tuple_(*after))
    query = query.order_by(TASKS.c.finished_at, TASKS.c.position)
    return (await session.execute(query)).all()


async def done_contexts(
    session: AsyncSession, job_id: uuid.UUID, *, after_position: int, limit: int
) -> Sequence[Row[Any]]:
    """Up to ``limit`` stored contexts ``(position, context_file, markdown)`` in registry
    order, from the first position past ``after_position`` (a keyset page)."""
    query: Select[Any] = (
        select(TASKS.c.position, TASKS.c.context_file, TASKS.c.markdown)
        .where(
            TASKS.c.job_id == job_id,
            TASKS.c.status == "done",
            TASKS.c.position > after_position,
        )
        .order_by(TASKS.c.position)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def requeue_failed(session: AsyncSession, job_id: uuid.UUID) -> list[str]:
    """Put the job's failed tasks back in the queue; their ids, in registry order."""
    statement = (
        update(TASKS)
        .where(TASKS.c.job_id == job_id, TASKS.c.status == "failed")
        .values(status="queued", attempts=0, error=None, finished_at=None)
        .returning(TASKS.c.task_id, TASKS.c.position)
    )
    rows = (await session.execute(statement)).all()
    return [task_id for task_id, _ in sorted(rows, key=lambda row: row.position)]


async def reopen_job(session: AsyncSession, job_id: uuid.UUID, requeued: int) -> Row[Any]:
    """The job runs again for ``requeued`` tasks taken off its failed count."""
    statement = (
        update(JOBS)
        .where(JOBS.c.id == job_id)
        .values(failed=JOBS.c.failed - requeued, status="running", finished_at=None)
        .returning(*_JOB_STATE)
    )
    return (await session.execute(statement)).one()
