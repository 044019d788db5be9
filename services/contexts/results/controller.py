"""HTTP routes for what a job produced: summary, contexts, registry, archive.

All under ``/api/v1/contexts/jobs/{job_id}``, all for the job's owner only (404 for
anyone else, exactly like a missing job). The job itself and its progress stream are in
``jobs/controller.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter
from litestar.response import Stream

from services.contexts.http_api import BASE_PATH, ONE_JOB, AuthRequest, JobId
from services.contexts.results import archive as archives
from services.contexts.results import service as results
from services.contexts.results.schemas import ContextList
from shared.platform import Session

TaskId = Annotated[str, PathParameter(description="The task's id in the registry")]


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
