"""HTTP routes of the contexts service: ``/api/v1/contexts/jobs`` (submit, list, get, retry).

The caller is ``request.user`` (the token's subject, set by the bearer middleware); a job
belongs to the user who submitted it, and every other user gets 404 for it. The results
of a job (summary, contexts, registry, archive, events) are in ``results_controller``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts import jobs_service as service
from services.contexts.job_pages import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT
from services.contexts.schemas import JobPage, JobRequest, JobView
from services.contexts.settings import ContextsSettings
from shared.auth_middleware import caller
from shared.errors import Conflict, NotFound
from shared.openapi import raises

AuthRequest = Request[str, Any, Any]
Session = NamedDependency[AsyncSession]  # provided by shared.service_app
JobId = Annotated[str, PathParameter(description="The job's id (a UUID)")]
BASE_PATH = "/api/v1/contexts/jobs"
# A job named in the path that is missing or another user's.
ONE_JOB = raises(NotFound)


class JobController(Controller):
    path = BASE_PATH
    tags = ["contexts"]

    @post(
        "/",
        status_code=202,
        summary="Submit a registry and its documents for context generation",
        description=(
            "Validates the registry (400 with `details.where` naming the exact place of a "
            "problem; nothing is created then), selects the backend level-3 function tasks "
            "that are `ready` and queues one context per task, in sub-batches of ten. "
            "With no qualifying task the job is `completed` at once."
        ),
    )
    async def submit(
        self, request: AuthRequest, session: Session, data: JSONBody[JobRequest]
    ) -> Response[JobView]:
        settings: ContextsSettings = request.app.state.settings
        job = await service.submit_job(
            session,
            user_id=caller(request),
            request=data,
            correlation_id=None,  # the request id, as for every event of a request
            limits=settings,
        )
        await session.commit()
        return Response(job, status_code=202, headers={"Location": f"{BASE_PATH}/{job.job_id}"})

    @get("/", summary="List my jobs, newest first (cursor-paginated)")
    async def list_jobs(
        self,
        request: AuthRequest,
        session: Session,
        cursor: Annotated[str | None, QueryParameter(max_length=MAX_CURSOR_LENGTH)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> JobPage:
        return await service.list_jobs(session, request.user, cursor=cursor, limit=limit)

    @get(
        "/{job_id:str}",
        summary="Get a job: status, progress per sub-batch, counts",
        raises=ONE_JOB,
    )
    async def get_job(self, request: AuthRequest, session: Session, job_id: JobId) -> JobView:
        return await service.get_job(session, request.user, job_id)

    @post(
        "/{job_id:str}/retry",
        status_code=202,
        summary="Queue the failed tasks of a finished job again",
        description=(
            "409 while the job is still queued or running (its failures are not final "
            "yet) and when it has no failed task."
        ),
        raises=raises(NotFound, Conflict),
    )
    async def retry(self, request: AuthRequest, session: Session, job_id: JobId) -> JobView:
        return await service.retry_job(session, request.user, job_id)
