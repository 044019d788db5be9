"""The job resource of docs/design.md §5 and the job list (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from services.contexts.schemas import Generator, JobStatus


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
