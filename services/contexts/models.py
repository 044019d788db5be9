"""Tables of the contexts service, in the Postgres schema ``contexts``.

``contexts.jobs`` holds one row per submitted job: the registry and the documents as
submitted, the selection's outcome (skipped, not qualifying, warnings) and the progress counters the
worker moves. ``contexts.tasks`` holds one row per selected task, in registry order
(``position``), with its sub-batch, the planned task (``spec``) and, once generated, its
markdown. A task row leaves ``queued`` exactly once (to ``done`` or ``failed``).

``contexts.outbox`` carries the job lifecycle events (exchange ``events``);
``contexts.work_outbox`` carries one ``contexts.task.requested`` message per task,
published through the default exchange to the queue ``contexts.generate``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Re-exported: the sub-batch size belongs to the plan (batch_index = position // it + 1).
from services.contexts.generation.registry import BATCH_SIZE as BATCH_SIZE
from services.contexts.schemas import FINISHED_STATUSES as FINISHED_STATUSES
from services.contexts.schemas import Generator, JobStatus, TaskStatus
from shared.consumer import processed_messages_table
from shared.db import TYPE_ANNOTATION_MAP, schema_metadata
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata("contexts")
    type_annotation_map = TYPE_ANNOTATION_MAP


JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
GENERATORS: tuple[str, ...] = get_args(Generator)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class JobModel(Base):
    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(Text, server_default="queued")
    generator: Mapped[str] = mapped_column(Text, server_default="template")
    regenerate: Mapped[bool] = mapped_column(server_default=text("false"))
    shape: Mapped[str] = mapped_column(Text)  # the registry's shape: "flat" or "tree"
    # The registry JSON text as submitted; column ``registry`` (the attribute name
    # ``registry`` is reserved by SQLAlchemy's declarative base).
    registry_text: Mapped[str] = mapped_column("registry", Text)
    # The submitted documents ({path: text}), stored once: the task specs only name the
    # sections they quote, and the worker attaches their texts when it generates.
    documents: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    total_tasks: Mapped[int] = mapped_column(server_default=text("0"))
    done: Mapped[int] = mapped_column(server_default=text("0"))
    failed: Mapped[int] = mapped_column(server_default=text("0"))
    sub_batches: Mapped[int] = mapped_column(server_default=text("0"))
    skipped: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    not_qualifying: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    warnings: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    correlation_id: Mapped[str | None] = mapped_column(Text)
    # The claim key of the AMQP message that submitted the job (None over HTTP): a
    # redelivered copy answers with this job, whatever correlation id others reuse.
    submission_key: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
        CheckConstraint(_one_of("generator", GENERATORS), name="generator"),
        CheckConstraint(
            "done >= 0 AND failed >= 0 AND done + failed <= total_tasks", name="counts"
        ),
        Index("ix_jobs_user_created", "user_id", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_jobs_user_submission",
            "user_id",
            "submission_key",
            unique=True,
            postgresql_where=text("submission_key IS NOT NULL"),
        ),
    )


class TaskModel(Base):
    __tablename__ = "tasks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int]  # 0-based among the selected tasks, in registry order
    batch_index: Mapped[int]  # 1-based sub-batch: position // 10 + 1
    kind: Mapped[str] = mapped_column(Text)
    function_name: Mapped[str] = mapped_column(Text)
    context_file: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)  # msgspec.to_builtins(PlannedTask)
    status: Mapped[str] = mapped_column(Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    markdown: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_one_of("status", TASK_STATUSES), name="status"),
        Index("ix_tasks_job_position", "job_id", "position"),
        # The progress stream reads a job's tasks finished after the last one it reported.
        Index("ix_tasks_job_finished", "job_id", "finished_at", "position"),
    )


# Job lifecycle events (exchange ``events``), written in the change's transaction.
OUTBOX = outbox_table(Base.metadata)
# Every batch a worker stores writes a progress event: the relays of this outbox (one per
# contexts and worker process) gather the commits of 50 ms into one round instead of one
# round per batch in each process.
JOB_EVENTS_LINGER = 0.05
# One ``contexts.task.requested`` per task, for the default exchange -> contexts.generate.
WORK_OUTBOX = outbox_table(Base.metadata, "work_outbox")
# Claims of the consumers that need them (see shared.consumer).
PROCESSED_MESSAGES = processed_messages_table(Base.metadata)
