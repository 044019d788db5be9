"""The job resource (docs/design.md §5) and the job list item, built from the stored rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.jobs import repository
from services.contexts.jobs.schemas import BatchView, JobSummary, JobView
from services.contexts.schemas import FUNCTION_TYPES


async def job_resource(session: AsyncSession, job: Row[Any]) -> JobView:
    """The job with its progress per sub-batch and its counts by function type."""
    batch_rows, kinds = await repository.progress_counts(session, job.id)
    batches = [
        BatchView(index=row.batch_index, size=row.size, done=row.done, failed=row.failed)
        for row in batch_rows
    ]
    by_type = {kind: 0 for kind in FUNCTION_TYPES}
    by_type.update(kinds)
    return job_view(job, batches, by_type)


def _state(job: Row[Any]) -> dict[str, Any]:
    """The fields a job's list item and its full resource share."""
    return {
        "job_id": job.id,
        "status": job.status,
        "generator": job.generator,
        "total_tasks": job.total_tasks,
        "done": job.done,
        "failed": job.failed,
        "skipped": len(job.skipped),
        "not_qualifying": len(job.not_qualifying),
        "sub_batches": job.sub_batches,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def job_view(job: Row[Any], batches: list[BatchView], by_type: dict[str, int]) -> JobView:
    return JobView(
        **_state(job),
        regenerate=job.regenerate,
        batches=batches,
        by_type=by_type,
        warnings=list(job.warnings),
        skipped_tasks=list(job.skipped),
        not_qualifying_tasks=list(job.not_qualifying),
    )


def job_summary(job: Row[Any]) -> JobSummary:
    return JobSummary(**_state(job))


def batches_of(batch_indexes: Iterable[int]) -> list[BatchView]:
    """The sub-batches of a job just written, from its task rows' ``batch_index`` (the one
    place the sub-batch rule is applied): nothing done yet."""
    sizes = Counter(batch_indexes)
    return [
        BatchView(index=index, size=size, done=0, failed=0) for index, size in sorted(sizes.items())
    ]
