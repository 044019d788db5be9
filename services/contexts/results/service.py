"""What a job produced: its contexts, the updated registry, the archive, the summary text.

Each function first finds the caller's job (404 for anyone else's, see
:func:`services.contexts.jobs.service.owned_job`), then reads what the worker stored.
Only tasks whose context is stored (``done``) count as generated: the updated registry
marks exactly those ``context_ready``, and the archive holds exactly their files. The
reads that take several queries (registry, archive, summary) run in one snapshot of the
database, so for a job still running they describe one moment of it: the archive of a
running job holds the contexts stored so far and a registry marking exactly those, never
a file without its registry status or one twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.generation.registry import updated_registry
from services.contexts.generation.summary import (
    NO_TASKS_TEXT,
    BatchResult,
    FailedTask,
    FileEntry,
    SummaryInput,
    summary_text,
)
from services.contexts.jobs import repository
from services.contexts.jobs.service import Id, owned_job
from services.contexts.results.archive import ArchiveWriter, build_archive
from services.contexts.results.schemas import ContextItem, ContextList
from services.contexts.schemas import FUNCTION_TYPES
from shared.errors import NotFound

ARCHIVE_PAGE = 500  # contexts read per query while the archive is written


async def list_contexts(session: AsyncSession, user_id: Id, job_id: Id) -> ContextList:
    job = await owned_job(session, user_id, job_id)
    items = [
        ContextItem(
            task_id=row.task_id,
            function_name=row.function_name,
            type=row.kind,
            path=row.context_file,
            status=row.status,
            batch=row.batch_index,
            warnings=list(row.warnings or []),
            error=row.error,
        )
        for row in await repository.list_tasks(session, job.id)
    ]
    return ContextList(items=items)


async def context_markdown(session: AsyncSession, user_id: Id, job_id: Id, task_id: str) -> str:
    job = await owned_job(session, user_id, job_id)
    task = await repository.get_task(session, job.id, task_id)
    if task is None:
        raise NotFound("No such task in this job")
    if task.status != "done" or task.markdown is None:
        raise NotFound(f"The context of task {task_id} is not generated ({task.status})")
    return str(task.markdown)


async def registry_text(session: AsyncSession, user_id: Id, job_id: Id) -> str:
    """The registry as submitted, the generated tasks set ``context_ready``."""
    await repository.snapshot(session)
    job = await owned_job(session, user_id, job_id)
    return await _updated_registry(session, job)


async def _updated_registry(session: AsyncSession, job: Any) -> str:
    files = await repository.done_context_files(session, job.id)
    if not files:
        return str(job.registry)
    # Rewriting a registry of megabytes is CPU work: off the event loop.
    return await asyncio.to_thread(updated_registry, job.registry, files)


async def archive(session: AsyncSession, user_id: Id, job_id: Id) -> ArchiveWriter:
    """The ``.claude_tasks/`` archive of the job, ready to stream: its registry and its
    contexts as one snapshot (pages in registry order, each past the last position read)."""
    await repository.snapshot(session)
    job = await owned_job(session, user_id, job_id)
    registry = await _updated_registry(session, job)
    last_position = -1

    async def page(_number: int) -> list[tuple[str, str]]:
        nonlocal last_position
        rows = await repository.done_contexts(
            session, job.id, after_position=last_position, limit=ARCHIVE_PAGE
        )
        if rows:
            last_position = rows[-1].position
        return [(row.context_file, row.markdown) for row in rows]

    return await build_archive(registry, page)


async def summary(session: AsyncSession, user_id: Id, job_id: Id) -> str:
    """The "Backend Context Generation Summary" with the job's real numbers (or its
    "No function tasks found" text when nothing qualified)."""
    await repository.snapshot(session)
    job = await owned_job(session, user_id, job_id)
    if job.total_tasks == 0:
        return NO_TASKS_TEXT
    tasks = await repository.list_tasks(session, job.id)
    done = [task for task in tasks if task.status == "done"]
    by_type = dict.fromkeys(FUNCTION_TYPES, 0)
    for task in done:
        by_type[task.kind] = by_type.get(task.kind, 0) + 1
    return summary_text(
        SummaryInput(
            total=job.total_tasks,
            batches=[
                BatchResult(index=row.batch_index, size=row.size, done=row.done, failed=row.failed)
                for row in await repository.batch_counts(session, job.id)
            ],
            by_type=by_type,
            files=[FileEntry(task.context_file, task.function_name) for task in done],
            failed=[
                FailedTask(task.task_id, task.error or "failed")
                for task in tasks
                if task.status == "failed"
            ],
        )
    )
