"""Recurring todos: a rule, the zone it repeats in, the series' start and the link from an
occurrence to the todo whose completion created it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "todos"


def upgrade() -> None:
    op.add_column("todos", sa.Column("recurrence", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("todos", sa.Column("time_zone", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column(
        "todos", sa.Column("series_start", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
    )
    op.add_column("todos", sa.Column("recurred_from", sa.Uuid(), nullable=True), schema=SCHEMA)
    op.create_foreign_key(
        op.f("fk_todos_recurred_from_todos"),
        "todos",
        "todos",
        ["recurred_from"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_todos_recurrence_length"),
        "todos",
        "char_length(recurrence) <= 500",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_todos_time_zone_length"), "todos", "char_length(time_zone) <= 64", schema=SCHEMA
    )
    # The service refuses a recurring todo without these (400); this keeps it so.
    op.create_check_constraint(
        op.f("ck_todos_recurrence_anchored"),
        "todos",
        "recurrence IS NULL OR (due_at IS NOT NULL AND time_zone IS NOT NULL"
        " AND series_start IS NOT NULL)",
        schema=SCHEMA,
    )
    # One next occurrence per todo, however often and concurrently it is completed.
    op.create_index(
        op.f("ux_todos_recurred_from"),
        "todos",
        ["recurred_from"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("recurred_from IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(op.f("ux_todos_recurred_from"), table_name="todos", schema=SCHEMA)
    op.drop_constraint(op.f("ck_todos_recurrence_anchored"), "todos", schema=SCHEMA)
    op.drop_constraint(op.f("ck_todos_time_zone_length"), "todos", schema=SCHEMA)
    op.drop_constraint(op.f("ck_todos_recurrence_length"), "todos", schema=SCHEMA)
    op.drop_constraint(op.f("fk_todos_recurred_from_todos"), "todos", schema=SCHEMA)
    for column in ("recurred_from", "series_start", "time_zone", "recurrence"):
        op.drop_column("todos", column, schema=SCHEMA)
