"""HTTP routes for what a job produced: summary, contexts, registry, archive, events.

All under ``/api/v1/contexts/jobs/{job_id}``, all for the job's owner only (404 for
anyone else, exactly like a missing job).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, PathParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts import archive as archives
from services.contexts import results_service as results
from services.contexts.controllers import BASE_PATH, ONE_JOB, AuthRequest, JobId
from services.contexts.job_events import ProgressStream, event_body, told_everything
from services.contexts.jobs_service import owned_job
from services.contexts.schemas import ContextList
from services.contexts.settings import ContextsSettings
from shared.openapi import event_stream
from shared.tokens import AccessClaims

Session = NamedDependency[AsyncSession]
TaskId = Annotated[str, PathParameter(description="The task's id in the registry")]
LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="last-event-id",
        description="Sent by a reconnecting EventSource: 204 once the job's stream is complete",
    ),
]


class ResultsController(Controller):
    path = BASE_PATH + "/{job_id:str}"
    tags = ["contexts"]

    @get(
        "/summary",
        media_type="text/plain; charset=utf-8",
        summary="The job's generation summary (plain text)",
        raises=ONE_JOB,
    )
    async def summary(self, request: AuthRequest, session: Session, job_id: JobId) -> str:
        return await results.summary(session, request.user, job_id)

    @get("/contexts", summary="The job's tasks and their context files", raises=ONE_JOB)
    async def list_contexts(
        self, request: AuthRequest, session: Session, job_id: JobId
    ) -> ContextList:
        return await results.list_contexts(session, request.user, job_id)

    @get(
        "/contexts/{task_id:str}",
        media_type="text/markdown; charset=utf-8",
        summary="One generated context file (404 until it is generated)",
        raises=ONE_JOB,
    )
    async def get_context(
        self, request: AuthRequest, session: Session, job_id: JobId, task_id: TaskId
    ) -> str:
        return await results.context_markdown(session, request.user, job_id, task_id)

    @get(
        "/registry",
        summary="The registry as submitted, with the generated tasks set context_ready",
        raises=ONE_JOB,
        responses={
            200: ResponseSpec(
                dict[str, Any], generate_examples=False, description="The task registry (JSON)"
            )
        },
    )
    async def registry(
        self, request: AuthRequest, session: Session, job_id: JobId
    ) -> Response[bytes]:
        text = await results.registry_text(session, request.user, job_id)
        return Response(text.encode(), media_type="application/json")

    @get(
        "/archive",
        summary="A .tar.gz of .claude_tasks/ to unpack into the project",
        raises=ONE_JOB,
        responses={
            200: ResponseSpec(
                bytes,
                generate_examples=False,
                media_type="application/gzip",
                description="The archive (Content-Disposition: attachment)",
            )
        },
    )
    async def archive(self, request: AuthRequest, session: Session, job_id: JobId) -> Stream:
        writer = await results.archive(session, request.user, job_id)
        name = f"claude_tasks-{job_id}.tar.gz"
        return Stream(
            archives.stream(writer),
            media_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/events",
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
        job_id: JobId,
        last_event_id: LastEventId = None,
    ) -> Stream | Response[None]:
        job = await owned_job(session, request.user, job_id)
        await session.close()  # the stream opens its own short sessions
        if last_event_id is not None and told_everything(job, last_event_id):
            # A browser's EventSource reconnects after the stream ends; 204 stops it.
            return Response(None, status_code=204)
        settings: ContextsSettings = request.app.state.settings
        progress = ProgressStream(job.id, job.user_id)
        body = event_body(
            request.app.state.sessionmaker,
            progress,
            poll_interval=settings.events_poll_interval,
            heartbeat=settings.events_heartbeat,
            expires_at=min(request.auth.expires_at, time.time() + 24 * 3600),
        )
        return Stream(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
