"""Create todos.todos and todos.user_counters.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "todos"
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "todos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("priority", sa.Text(), server_default="medium", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todos")),
        sa.UniqueConstraint("user_id", "number", name=op.f("uq_todos_user_id_number")),
        sa.CheckConstraint("status IN ('pending', 'completed')", name=op.f("ck_todos_status")),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_todos_priority")
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 255", name=op.f("ck_todos_title_length")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 10000", name=op.f("ck_todos_description_length")
        ),
        sa.CheckConstraint("cardinality(tags) <= 20", name=op.f("ck_todos_tags_count")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_todos_user_created"),
        "todos",
        ["user_id", "created_at", "id"],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index(
        op.f("ix_todos_user_due"),
        "todos",
        ["user_id", "due_at", "id"],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index(
        op.f("ix_todos_user_status"),
        "todos",
        ["user_id", "status"],
        schema=SCHEMA,
        postgresql_where=LIVE,
    )
    op.create_index(op.f("ix_todos_tags"), "todos", ["tags"], schema=SCHEMA, postgresql_using="gin")
    op.create_table(
        "user_counters",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_counters")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("user_counters", schema=SCHEMA)
    op.drop_table("todos", schema=SCHEMA)
