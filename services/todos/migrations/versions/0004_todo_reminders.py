"""Due-date reminders: a todo's reminder (effective remind_at, remind_before in seconds), when
it was done with (reminded_at), and the partial index of the reminders still to fire.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "todos"
ARMED = (
    "remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'pending' AND deleted_at IS NULL"
)


def upgrade() -> None:
    op.add_column("todos", sa.Column("remind_before", sa.Integer(), nullable=True), schema=SCHEMA)
    for column in ("remind_at", "reminded_at"):
        op.add_column(
            "todos", sa.Column(column, sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
        )
    op.create_check_constraint(
        op.f("ck_todos_remind_before_range"),
        "todos",
        "remind_before BETWEEN 1 AND 31622400",  # 366 days
        schema=SCHEMA,
    )
    # The scheduler's claim and its "next reminder" read only the armed ones.
    op.create_index(
        op.f("ix_todos_reminder_due"),
        "todos",
        ["remind_at"],
        schema=SCHEMA,
        postgresql_where=sa.text(ARMED),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_todos_reminder_due"), table_name="todos", schema=SCHEMA)
    op.drop_constraint(op.f("ck_todos_remind_before_range"), "todos", schema=SCHEMA)
    for column in ("reminded_at", "remind_at", "remind_before"):
        op.drop_column("todos", column, schema=SCHEMA)
