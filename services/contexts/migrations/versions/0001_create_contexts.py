"""Create contexts.jobs, contexts.tasks, the two outboxes and the processed-messages table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.outbox import create_outbox, drop_outbox

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "contexts"
EMPTY_LIST = sa.text("'[]'::jsonb")


def _timestamp(name: str, *, now: bool = False) -> sa.Column[object]:
    default = sa.func.now() if now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=not now)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("generator", sa.Text(), server_default="template", nullable=False),
        sa.Column("regenerate", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("shape", sa.Text(), nullable=False),
        sa.Column("registry", sa.Text(), nullable=False),
        sa.Column(
            "documents", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("total_tasks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sub_batches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped", postgresql.JSONB(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("not_qualifying", postgresql.JSONB(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("warnings", postgresql.JSONB(), server_default=EMPTY_LIST, nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("submission_key", sa.Uuid(), nullable=True),
        _timestamp("created_at", now=True),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'completed_with_errors', 'failed')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint("generator IN ('template', 'llm')", name=op.f("ck_jobs_generator")),
        sa.CheckConstraint(
            "done >= 0 AND failed >= 0 AND done + failed <= total_tasks",
            name=op.f("ck_jobs_counts"),
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_jobs_user_created",
        "jobs",
        ["user_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_jobs_user_submission",
        "jobs",
        ["user_id", "submission_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("submission_key IS NOT NULL"),
    )
    op.create_table(
        "tasks",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("batch_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("context_file", sa.Text(), nullable=False),
        sa.Column("spec", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("markdown", sa.Text(), nullable=True),
        _timestamp("finished_at"),
        sa.PrimaryKeyConstraint("job_id", "task_id", name=op.f("pk_tasks")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            [f"{SCHEMA}.jobs.id"],
            name=op.f("fk_tasks_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("status IN ('queued', 'done', 'failed')", name=op.f("ck_tasks_status")),
        schema=SCHEMA,
    )
    op.create_index("ix_tasks_job_position", "tasks", ["job_id", "position"], schema=SCHEMA)
    op.create_index(
        "ix_tasks_job_finished", "tasks", ["job_id", "finished_at", "position"], schema=SCHEMA
    )
    create_outbox(SCHEMA)
    create_outbox(SCHEMA, "work_outbox")
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        _timestamp("processed_at", now=True),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_processed_messages")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("processed_messages", schema=SCHEMA)
    drop_outbox(SCHEMA, "work_outbox")
    drop_outbox(SCHEMA)
    op.drop_index("ix_tasks_job_finished", table_name="tasks", schema=SCHEMA)
    op.drop_index("ix_tasks_job_position", table_name="tasks", schema=SCHEMA)
    op.drop_table("tasks", schema=SCHEMA)
    op.drop_index("ix_jobs_user_submission", table_name="jobs", schema=SCHEMA)
    op.drop_index("ix_jobs_user_created", table_name="jobs", schema=SCHEMA)
    op.drop_table("jobs", schema=SCHEMA)
