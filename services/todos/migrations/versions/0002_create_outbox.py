"""create the outbox of todo events

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from shared.outbox import create_outbox, drop_outbox

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox("todos")


def downgrade() -> None:
    drop_outbox("todos")
