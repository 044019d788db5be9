"""Intake of a job: check the submitted registry and documents, plan, write.

:func:`submit_job` is shared by ``POST /api/v1/contexts/jobs`` (``jobs/controller.py``)
and the AMQP submit consumer (``intake/consumer.py``). In the caller's transaction it
writes the job, its selected tasks, one ``contexts.task.requested`` work message per task
(work outbox -> ``contexts.generate``) and the ``contexts.job.accepted`` event. Anything
malformed is a :class:`~shared.errors.ValidationFailed` naming the place
(``details.where``), raised before anything is written. The worker moves the job forward;
reads and retries of a job are in ``jobs/service.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from services.contexts.generation.registry import (
    Plan,
    PlannedTask,
    RegistryProblem,
    parse_registry,
)
from services.contexts.generation.summary import NO_TASKS_TEXT
from services.contexts.intake.schemas import JobRequest
from services.contexts.jobs import repository
from services.contexts.jobs.messages import WorkFor, announce, work_messages
from services.contexts.jobs.schemas import JobView
from services.contexts.jobs.views import batches_of, job_view
from services.contexts.models import BATCH_SIZE, WORK_OUTBOX
from services.contexts.queues import GENERATE_QUEUE, JOB_ACCEPTED, JOB_COMPLETED
from services.contexts.settings import ContextsSettings
from shared.errors import ValidationFailed, invalid
from shared.messaging import Envelope
from shared.messaging.envelope import current_correlation_id
from shared.outbox import add_events

LIMITS = ContextsSettings()  # the documented defaults; the service may pass its own


def refused(field: str, where: str, message: str) -> ValidationFailed:
    """Intake's refusals name the body field and the exact place inside it."""
    return invalid(field, message, source="body", where=where)


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
        _check_and_plan, request, limits, WorkFor(job_id, user_id, correlation)
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
    await announce(session, job, JOB_ACCEPTED, correlation)
    if not total:
        await announce(session, job, JOB_COMPLETED, correlation)
    return job_view(job, batches_of(row["batch_index"] for row in intake.rows), plan.by_kind)


def _check_and_plan(request: JobRequest, limits: ContextsSettings, work: WorkFor) -> _Intake:
    """Everything intake checks and computes before writing; ``ValidationFailed`` names
    the place of the first problem."""
    _check_documents(request.documents, limits)
    try:
        raw, registry_text = _registry_json(request.registry)
        if len(registry_text.encode()) > limits.max_registry_bytes:
            raise refused(
                "registry", "registry", f"is larger than {limits.max_registry_bytes} bytes"
            )
        registry = parse_registry(raw, max_tasks=limits.max_registry_tasks)
        plan = registry.plan(request.documents, regenerate=request.options.regenerate)
    except RegistryProblem as problem:
        raise refused("registry", problem.where, problem.message) from None
    except RecursionError:  # deeper than any registry: refused, not a server error
        raise refused("registry", "registry", "is nested too deeply") from None
    for task in plan.tasks:
        _check_path(task.context_file, "registry", f"task {task.task_id}: context_file")
    rows = [_task_row(position, task) for position, task in enumerate(plan.tasks)]
    envelopes = work_messages(work, [task.task_id for task in plan.tasks])
    return _Intake(registry_text, registry.shape, plan, rows, envelopes)


def _check_documents(documents: dict[str, str], limits: ContextsSettings) -> None:
    size = 0
    for path, content in documents.items():
        where = f"documents[{path!r}]"
        _check_path(path, "documents", where)
        if "\x00" in content:  # the database cannot store it
            raise refused("documents", where, "contains a NUL character (\\u0000)")
        size += len(content.encode())
    if size > limits.max_documents_bytes:
        raise refused(
            "documents", "documents", f"total more than {limits.max_documents_bytes} bytes"
        )


def _check_path(path: str, field: str, where: str) -> None:
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
        raise refused(field, where, "must be a relative path inside the project, without '..'")


def _registry_json(registry: Any) -> tuple[Any, str]:
    """(the decoded registry, its JSON text). A string is taken as the registry file's
    text, kept byte for byte (so the updated registry keeps its layout)."""
    if not isinstance(registry, str):
        return registry, msgspec.json.encode(registry).decode()
    try:
        return msgspec.json.decode(registry), registry
    except msgspec.DecodeError as exc:
        raise refused("registry", "registry", f"is not JSON: {exc}") from None


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
