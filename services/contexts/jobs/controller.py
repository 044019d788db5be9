"""HTTP routes of a job: ``/api/v1/contexts/jobs`` (submit, list, get, retry, progress).

The caller is ``request.user`` (the token's subject, set by the bearer middleware); a job
belongs to the user who submitted it, and every other user gets 404 for it. The routes
only translate HTTP: the work is done by intake (``intake/submission.py``), the job's
service functions (``jobs/service.py``) and its progress stream
(``jobs/progress_stream.py``). What a job produced (summary, contexts, registry, archive)
is in ``results/controller.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from services.contexts.http_api import BASE_PATH, ONE_JOB, AuthRequest, JobId, Settings
from services.contexts.intake.schemas import JobRequest
from services.contexts.intake.submission import submit_job
from services.contexts.jobs import service
from services.contexts.jobs.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT
from services.contexts.jobs.progress_stream import open_stream
from services.contexts.jobs.schemas import JobPage, JobView
from shared.auth_middleware import caller
from shared.errors import Conflict, NotFound
from shared.openapi import event_stream, raises
from shared.platform import Session, Sessions
from shared.sse import EventStream
from shared.tokens import AccessClaims

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="last-event-id",
        description="Sent by a reconnecting EventSource: 204 once the job's stream is complete",
    ),
]


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
        self, request: AuthRequest, session: Session, settings: Settings, data: JSONBody[JobRequest]
    ) -> Response[JobView]:
        job = await submit_job(
            session,
            user_id=caller(request),
            request=data,
            correlation_id=None,  # the request id, as for every event of a request
            limits=settings,
        )
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

    @get(
        "/{job_id:str}/events",
        summary="Progress as Server-Sent Events (task, batch, then a final job event)",
        raises=ONE_JOB,
        responses={
            200: event_stream("`task`, `batch` and a final `job` event; ends with the job"),
            204: ResponseSpec(
                None, description="Last-Event-ID shows the client has seen the whole stream"
            ),
        },
    )
    async def events(
        self,
        request: Request[str, AccessClaims, Any],
        session: Session,
        sessionmaker: Sessions,
        settings: Settings,
        job_id: JobId,
        last_event_id: LastEventId = None,
    ) -> EventStream | Response[None]:
        body = await open_stream(
            session,
            sessionmaker,
            request.user,
            job_id,
            last_event_id=last_event_id,
            settings=settings,
            token_expires_at=request.auth.expires_at,
        )
        if body is None:
            # A browser's EventSource reconnects after the stream ends; 204 stops it.
            return Response(None, status_code=204)
        return EventStream(body)
