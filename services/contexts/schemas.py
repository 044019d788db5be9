"""Request and response bodies of the contexts API (msgspec Structs).

``JobRequest`` is the body of ``POST /api/v1/contexts/jobs`` and of a ``jobs.submit``
message; the registry is kept as any JSON value here because its two shapes are checked
by the registry parser, which names the exact place of a problem. ``JobView`` is the job
resource of docs/design.md §5.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

from services.contexts.generation.planned_task import KINDS

Generator = Literal["template", "llm"]
JobStatus = Literal["queued", "running", "completed", "completed_with_errors", "failed"]
TaskStatus = Literal["queued", "done", "failed"]
# A job in one of these states changes no more (unless retried).
FINISHED_STATUSES: tuple[JobStatus, ...] = ("completed", "completed_with_errors", "failed")
FUNCTION_TYPES: tuple[str, ...] = KINDS  # the kinds a context is counted by


class JobOptions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    generator: Generator = "template"
    regenerate: bool = False  # also redo tasks already context_ready


class JobRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    registry: Any
    documents: dict[str, str] = msgspec.field(default_factory=dict)
    options: JobOptions = msgspec.field(default_factory=JobOptions)


class BatchView(msgspec.Struct):
    index: int  # 1-based sub-batch number
    size: int
    done: int
    failed: int


class JobView(msgspec.Struct, kw_only=True):
    job_id: uuid.UUID
    status: JobStatus
    generator: Generator
    regenerate: bool
    total_tasks: int
    done: int
    failed: int
    skipped: int  # tasks already context_ready (left alone)
    not_qualifying: int  # tasks that are not backend level-3 ready functions
    sub_batches: int
    batches: list[BatchView]
    by_type: dict[str, int]
    warnings: list[str]
    skipped_tasks: list[str]  # ids of the skipped tasks
    not_qualifying_tasks: list[str]  # ids of the tasks that do not qualify
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobSummary(msgspec.Struct, kw_only=True):
    """A job in the list: its state and counts, without the per-batch detail."""

    job_id: uuid.UUID
    status: JobStatus
    generator: Generator
    total_tasks: int
    done: int
    failed: int
    skipped: int
    not_qualifying: int
    sub_batches: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(msgspec.Struct):
    items: list[JobSummary]
    next_cursor: str | None


class ContextItem(msgspec.Struct, kw_only=True):
    task_id: str
    function_name: str
    type: str
    path: str  # where the file goes in the project: .claude_tasks/contexts/<name>.md
    status: TaskStatus
    batch: int
    warnings: list[str]
    error: str | None


class ContextList(msgspec.Struct):
    items: list[ContextItem]
