"""The outbox table, declared in a service's own schema, and the migration that creates it.

``id`` (bigserial) is the publication order. ``payload`` is the encoded envelope; the
relay decodes and validates it again before publishing. The partial index on ``id WHERE
sent_at IS NULL`` keeps the relay's claim query cheap however many sent rows are kept
for the retention period.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.schema import SchemaItem

DEFAULT_NAME = "outbox"
PENDING = text("sent_at IS NULL")


def outbox_columns(name: str = DEFAULT_NAME) -> list[SchemaItem]:
    """Fresh columns and constraints of the outbox (each belongs to one table only).

    Constraint names are explicit, and the ones ``shared.db.NAMING_CONVENTION`` would
    give, so the table and the migration agree whichever metadata they are made on.
    """
    return [
        Column("id", BigInteger, autoincrement=True, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("type", Text, nullable=False),
        Column("routing_key", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        PrimaryKeyConstraint("id", name=f"pk_{name}"),
        UniqueConstraint("event_id", name=f"uq_{name}_event_id"),
    ]


def pending_index_name(name: str = DEFAULT_NAME) -> str:
    return f"ix_{name}_pending"


def outbox_table(metadata: MetaData, name: str = DEFAULT_NAME) -> Table:
    """Declare the outbox on ``metadata`` (a service's ``Base.metadata``, whose schema it
    takes), so Alembic autogenerate and the service's code both see it."""
    return Table(
        name,
        metadata,
        *outbox_columns(name),
        Index(pending_index_name(name), "id", postgresql_where=PENDING),
    )


def notify_channel(table: Table) -> str:
    """The LISTEN/NOTIFY channel of ``table``: ``<schema>_<name>``, e.g. ``todos_outbox``."""
    return f"{table.schema or 'public'}_{table.name}"


def create_outbox(schema: str, name: str = DEFAULT_NAME) -> None:
    """Alembic ``upgrade`` operations creating the outbox in ``schema``.

    Call it inside a migration's ``upgrade()``; the names match the ones
    :func:`shared.db.schema_metadata`'s naming convention gives :func:`outbox_table`.
    """
    from alembic import op  # only migrations import alembic's proxy

    op.create_table(
        name,
        *outbox_columns(name),
        schema=schema,
    )
    op.create_index(pending_index_name(name), name, ["id"], schema=schema, postgresql_where=PENDING)


def drop_outbox(schema: str, name: str = DEFAULT_NAME) -> None:
    """Alembic ``downgrade`` operations dropping what :func:`create_outbox` made."""
    from alembic import op

    op.drop_index(pending_index_name(name), table_name=name, schema=schema)
    op.drop_table(name, schema=schema)
