"""Indexes that keep the todo list's cost independent of the list's length.

- ``sort=due_at`` orders by ``coalesce(due_at, 'infinity')`` (no due date sorts last), an
  expression the (user_id, due_at, id) index cannot serve: the first page of a 100,000-todo
  list read and sorted every row (~30 ms). An index on the expression serves the page and
  its cursor's row comparison directly.
- ``q=`` is a substring search (ILIKE '%...%'): trigram indexes on title and description
  (``pg_trgm``, a trusted extension any owner of the database may create) find the few
  matching rows of a rare word without walking the user's list.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "todos"
LIVE = "deleted_at IS NULL"


def upgrade() -> None:
    op.create_index(
        op.f("ix_todos_user_due_sort"),
        "todos",
        ["user_id", sa.text("coalesce(due_at, 'infinity'::timestamptz)"), "id"],
        schema=SCHEMA,
        postgresql_where=sa.text(LIVE),
    )
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in ("title", "description"):
        op.create_index(
            op.f(f"ix_todos_{column}_trigrams"),
            "todos",
            [column],
            schema=SCHEMA,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for column in ("description", "title"):
        op.drop_index(op.f(f"ix_todos_{column}_trigrams"), table_name="todos", schema=SCHEMA)
    op.drop_index(op.f("ix_todos_user_due_sort"), table_name="todos", schema=SCHEMA)
