"""Search reads no pending list: the trigram indexes are updated as rows change.

A GIN index with ``fastupdate`` (PostgreSQL's default) queues new entries in a pending list
that every search scans in full until a vacuum (or 4 MB of entries) moves them into the
index. After 100,000 todos were added, a ``q=`` search of one user's list took ~17 ms, ~10 of
them in the pending list of the description index, and the planner then preferred walking
the user's list to the index; with the list merged it took ~2 ms. A todo's title changes a
few dozen index entries, so writing them at once costs a write little and keeps every search
at the index's own cost.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = ("todos.ix_todos_title_trigrams", "todos.ix_todos_description_trigrams")


def upgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        # What is already pending stays pending until merged: merge it now.
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (fastupdate)")
