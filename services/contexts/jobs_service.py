"""Context generation jobs: intake, reads of a job, retry.

Intake (:func:`submit_job`) is shared by ``POST /api/v1/contexts/jobs`` and the AMQP
submit consumer. In the caller's transaction it writes the job, its selected tasks, one
``contexts.task.requested`` work message per task (work outbox -> ``contexts.generate``)
and the ``contexts.job.accepted`` event. Anything malformed is a
:class:`~shared.errors.ValidationFailed` naming the place (``details.where``), raised before
anything is written. The worker moves the job forward; this module only reads progress.

Every function acts for one user: another user's job is answered like a missing one.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import msgspec
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts import job_repository as repository
from services.contexts.generation.registry import (
    Plan,
    PlannedTask,
    RegistryProblem,
    parse_registry,
)
from services.contexts.generation.summary import NO_TASKS_TEXT
from services.contexts.job_pages import decode_cursor, encode_cursor
from services.contexts.job_views import batches_of, job_resource, job_summary, job_view
from services.contexts.models import BATCH_SIZE, OUTBOX, WORK_OUTBOX
from services.contexts.queues import (
    GENERATE_QUEUE,
    JOB_ACCEPTED,
    JOB_COMPLETED,
    JOB_PROGRESS,
    TASK_REQUESTED,
    JobEvent,
    TaskRequested,
)
from services.contexts.schemas import JobPage, JobRequest, JobView
from services.contexts.settings import ContextsSettings
from shared.auth_middleware import user_id as user_uuid
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.messaging import Envelope
from shared.messaging.envelope import current_correlation_id
from shared.outbox import add_event, add_events

Id = uuid.UUID | str
LIMITS = ContextsSettings()  # the documented defaults; the service may pass its own


def job_uuid(job_id: Id) -> uuid.UUID:
    if isinstance(job_id, uuid.UUID):
        return job_id
    try:
        return uuid.UUID(job_id)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("Job not found") from None


def invalid(where: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{where}: {message}", details={"where": where, "message": message})


# -- intake ---------------------------------------------------------------------------
@dataclass
class _Intake:
    """A checked and planned submission, ready to be written."""

    registry_text: str
    shape: str
    plan: Plan
    rows: list[dict[str, Any]]  # the contexts.tasks rows, specs encoded
    work: list[Envelope]  # one contexts.task.requested per task


async def submit_job(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    request: JobRequest,
    correlation_id: str | None,
    limits: ContextsSettings = LIMITS,
    submission_key: uuid.UUID | None = None,
) -> JobView:
    """Validate and plan the job, then write it in the caller's transaction (no commit).

    ``submission_key`` identifies the message a job was submitted with (AMQP), so a
    redelivered copy can find the job its first copy made."""
    correlation = correlation_id or current_correlation_id()
    job_id = uuid.uuid4()
    # Parsing, planning and encoding 20,000 specs take seconds of CPU: off the event loop.
    intake = await asyncio.to_thread(
        _check_and_plan, request, limits, _WorkFor(job_id, user_id, correlation)
    )
    plan = intake.plan
    total = len(plan.tasks)
    warnings = list(plan.warnings) if total else [*plan.warnings, NO_TASKS_TEXT]
    finished = None if total else datetime.now(UTC)
    job = await repository.insert_job(
        session,
        {
            "id": job_id,
            "user_id": user_id,
            "status": "queued" if total else "completed",
            "generator": request.options.generator,
            "regenerate": request.options.regenerate,
            "shape": intake.shape,
            "registry": intake.registry_text,
            "documents": request.documents,
            "total_tasks": total,
            "sub_batches": plan.sub_batches,
            "skipped": plan.skipped,
            "not_qualifying": plan.not_qualifying,
            "warnings": warnings,
            "correlation_id": correlation,
            "submission_key": submission_key,
            "started_at": finished,
            "finished_at": finished,
        },
    )
    await repository.insert_tasks(session, job.id, intake.rows)
    await add_events(session, WORK_OUTBOX, intake.work, routing_key=GENERATE_QUEUE)
    await _announce(session, job, JOB_ACCEPTED, correlation)
    if not total:
        await _announce(session, job, JOB_COMPLETED, correlation)
    return job_view(job, batches_of(row["batch_index"] for row in intake.rows), plan.by_kind)


def _check_and_plan(request: JobRequest, limits: ContextsSettings, work: _WorkFor) -> _Intake:
    """Everything intake checks and computes before writing; ``ValidationFailed`` names
    the place of the first problem."""
    _check_documents(request.documents, limits)
    try:
        raw, registry_text = _registry_json(request.registry)
        if len(registry_text.encode()) > limits.max_registry_bytes:
            raise invalid("registry", f"is larger than {limits.max_registry_bytes} bytes")
        registry = parse_registry(raw, max_tasks=limits.max_registry_tasks)
        plan = registry.plan(request.documents, regenerate=request.options.regenerate)
    except RegistryProblem as problem:
        raise invalid(problem.where, problem.message) from None
    except RecursionError:  # deeper than any registry: refused, not a server error
        raise invalid("registry", "is nested too deeply") from None
    for task in plan.tasks:
        _check_path(task.context_file, f"task {task.task_id}: context_file")
    rows = [_task_row(position, task) for position, task in enumerate(plan.tasks)]
    envelopes = _work_messages(work, [task.task_id for task in plan.tasks])
    return _Intake(registry_text, registry.shape, plan, rows, envelopes)


def _check_documents(documents: dict[str, str], limits: ContextsSettings) -> None:
    size = 0
    for path, content in documents.items():
        where = f"documents[{path!r}]"
        _check_path(path, where)
        if "\x00" in content:  # the database cannot store it
            raise invalid(where, "contains a NUL character (\\u0000)")
        size += len(content.encode())
    if size > limits.max_documents_bytes:
        raise invalid("documents", f"total more than {limits.max_documents_bytes} bytes")


def _check_path(path: str, where: str) -> None:
    """A project-relative path: not empty, not absolute, no ``..``, no backslashes."""
    parts = PurePosixPath(path).parts
    if (
        not path.strip()
        or len(path) > 1024
        or "\\" in path
        or "\x00" in path
        or path.startswith("/")
        or ".." in parts
        or (parts and parts[0].endswith(":"))
    ):
        raise invalid(where, "must be a relative path inside the project, without '..'")


def _registry_json(registry: Any) -> tuple[Any, str]:
    """(the decoded registry, its JSON text). A string is taken as the registry file's
    text, kept byte for byte (so the updated registry keeps its layout)."""
    if not isinstance(registry, str):
        return registry, msgspec.json.encode(registry).decode()
    try:
        return msgspec.json.decode(registry), registry
    except msgspec.DecodeError as exc:
        raise invalid("registry", f"is not JSON: {exc}") from None


def _task_row(position: int, task: PlannedTask) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "position": position,
        "batch_index": position // BATCH_SIZE + 1,
        "kind": task.kind,
        "function_name": task.function_name,
        "context_file": task.context_file,
        "spec": msgspec.json.encode(task).decode(),
    }


@dataclass(frozen=True)
class _WorkFor:
    """Whose work messages: the job, its owner and the correlation id they carry."""

    job_id: uuid.UUID
    user_id: uuid.UUID
    correlation_id: str


def _work_messages(work: _WorkFor, task_ids: list[str]) -> list[Envelope]:
    return [
        Envelope(
            type=TASK_REQUESTED,
            user_id=work.user_id,
            data=msgspec.to_builtins(TaskRequested(job_id=work.job_id, task_id=task_id)),
            correlation_id=work.correlation_id,
        )
        for task_id in task_ids
    ]


async def _announce(session: AsyncSession, job: Row[Any], kind: str, correlation: str) -> None:
    """A ``contexts.job.<verb>`` event for the owner, in the change's transaction."""
    envelope = Envelope(
        type=kind,
        user_id=job.user_id,
        data=msgspec.to_builtins(JobEvent.of(job)),
        correlation_id=correlation,
    )
    await add_event(session, OUTBOX, envelope)


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
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.list_jobs(session, user_uuid(user_id), after=after, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.created_at, last.id)
    return JobPage(items=[job_summary(row) for row in rows[:limit]], next_cursor=next_cursor)


# -- retry ----------------------------------------------------------------------------
async def retry_job(session: AsyncSession, user_id: Id, job_id: Id) -> JobView:
    """Re-queue the failed tasks of a finished job and commit; 409 when there are none
    or the job is still running (its failures are not final yet)."""
    job = await owned_job(session, user_id, job_id, for_update=True)
    if job.status in ("queued", "running"):
        raise Conflict("The job is still running; retry it once it has finished")
    if job.failed == 0:
        raise Conflict("The job has no failed tasks to retry")
    task_ids = await repository.requeue_failed(session, job.id)
    job = await repository.reopen_job(session, job.id, len(task_ids))
    correlation = current_correlation_id()
    work = _work_messages(_WorkFor(job.id, job.user_id, correlation), task_ids)
    await add_events(session, WORK_OUTBOX, work, routing_key=GENERATE_QUEUE)
    await _announce(session, job, JOB_PROGRESS, correlation)  # live views: it runs again
    view = await job_resource(session, job)
    await session.commit()
    return view
