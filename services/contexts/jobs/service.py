"""Context generation jobs: reads of a job, the list of a user's jobs, retry.

A job is written by intake (``intake/submission.py``) and moved forward by the worker;
this module reads it, and queues the failed tasks of a finished job again.

Every function acts for one user: another user's job is answered like a missing one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.jobs import repository
from services.contexts.jobs.messages import WorkFor, announce, work_messages
from services.contexts.jobs.pagination import JOBS
from services.contexts.jobs.schemas import JobPage, JobView
from services.contexts.jobs.views import job_resource, job_summary
from services.contexts.models import WORK_OUTBOX
from services.contexts.queues import GENERATE_QUEUE, JOB_PROGRESS
from shared.auth_middleware import user_id as user_uuid
from shared.errors import Conflict, NotFound
from shared.messaging.envelope import current_correlation_id
from shared.outbox import add_events
from shared.pagination import keyset_page

Id = uuid.UUID | str


def job_uuid(job_id: Id) -> uuid.UUID:
    if isinstance(job_id, uuid.UUID):
        return job_id
    try:
        return uuid.UUID(job_id)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Job not found") from None


# -- reads ----------------------------------------------------------------------------
async def owned_job(
    session: AsyncSession, user_id: Id, job_id: Id, *, for_update: bool = False
) -> Row[Any]:
    job = await repository.get_job(
        session, user_uuid(user_id), job_uuid(job_id), for_update=for_update
    )
    if job is None:
        raise NotFound("Job not found")
    return job


async def get_job(session: AsyncSession, user_id: Id, job_id: Id) -> JobView:
    job = await owned_job(session, user_id, job_id)
    return await job_resource(session, job)


async def list_jobs(
    session: AsyncSession, user_id: Id, *, cursor: str | None, limit: int
) -> JobPage:
    after, owner = JOBS.after(cursor), user_uuid(user_id)
    rows, next_cursor = await keyset_page(
        lambda n: repository.list_jobs(session, owner, after=after, limit=n),
        limit,
        lambda last: JOBS.cursor(last.created_at, last.id),
    )
    return JobPage(items=[job_summary(row) for row in rows], next_cursor=next_cursor)


# -- retry ----------------------------------------------------------------------------
async def retry_job(session: AsyncSession, user_id: Id, job_id: Id) -> JobView:
    """Re-queue the failed tasks of a finished job; 409 when there are none
    or the job is still running (its failures are not final yet)."""
    job = await owned_job(session, user_id, job_id, for_update=True)
    if job.status in ("queued", "running"):
        raise Conflict("The job is still running; retry it once it has finished")
    if job.failed == 0:
        raise Conflict("The job has no failed tasks to retry")
    task_ids = await repository.requeue_failed(session, job.id)
    job = await repository.reopen_job(session, job.id, len(task_ids))
    correlation = current_correlation_id()
    work = work_messages(WorkFor(job.id, job.user_id, correlation), task_ids)
    await add_events(session, WORK_OUTBOX, work, routing_key=GENERATE_QUEUE)
    await announce(session, job, JOB_PROGRESS, correlation)  # live views: it runs again
    return await job_resource(session, job)
