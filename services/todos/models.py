"""Tables of the todos service, in the Postgres schema ``todos``.

``todos.todos`` holds every todo, soft-deleted ones included (``deleted_at`` set).
A recurring todo carries its rule (``recurrence``), the zone it repeats in and its series'
first due date (``series_start``, which COUNT counts from); completing it creates the next
occurrence, which points back with ``recurred_from``: unique, so one todo never has two.
A todo's reminder is its effective ``remind_at`` (with ``remind_before`` in seconds when it
counts back from ``due_at``); ``reminded_at`` marks it done with (see ``reminders``). The
partial index holds only armed reminders, so the scheduler's claim reads just those.
``todos.user_counters`` hands out the per-user ``number`` (1, 2, 3, ...): one atomic
upsert per create, so numbers are never duplicated under concurrency and never reused.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, schema_metadata
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata("todos")
    type_annotation_map = TYPE_ANNOTATION_MAP


STATUSES = ("pending", "completed")
PRIORITIES = ("low", "medium", "high", "urgent")
LIVE = text("deleted_at IS NULL")
# A reminder still to fire: the condition of the partial index and of the scheduler's claim.
ARMED = text(
    "remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'pending' AND deleted_at IS NULL"
)
MAX_REMIND_BEFORE_SECONDS = 366 * 86400


class TodoModel(Base):
    __tablename__ = "todos"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID]
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    priority: Mapped[str] = mapped_column(Text, server_default="medium")
    due_at: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    recurrence: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str | None] = mapped_column(Text)
    series_start: Mapped[datetime | None]
    recurred_from: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("todos.todos.id"))
    remind_before: Mapped[int | None]  # seconds before due_at
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(server_default=text("1"))

    __table_args__ = (
        UniqueConstraint("user_id", "number"),
        CheckConstraint("status IN ('pending', 'completed')", name="status"),
        CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name="priority"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 255", name="title_length"),
        CheckConstraint("char_length(description) <= 10000", name="description_length"),
        CheckConstraint("cardinality(tags) <= 20", name="tags_count"),
        CheckConstraint("char_length(recurrence) <= 500", name="recurrence_length"),
        CheckConstraint("char_length(time_zone) <= 64", name="time_zone_length"),
        CheckConstraint(
            "recurrence IS NULL OR (due_at IS NOT NULL AND time_zone IS NOT NULL"
            " AND series_start IS NOT NULL)",
            name="recurrence_anchored",
        ),
        CheckConstraint(
            f"remind_before BETWEEN 1 AND {MAX_REMIND_BEFORE_SECONDS}", name="remind_before_range"
        ),
        Index("ix_todos_user_created", "user_id", "created_at", "id", postgresql_where=LIVE),
        Index("ix_todos_user_due", "user_id", "due_at", "id", postgresql_where=LIVE),
        # The list's sort=due_at (list_query.SORT_EXPRESSIONS) and q= search: migration 0005.
        Index(
            "ix_todos_user_due_sort",
            "user_id",
            text("coalesce(due_at, 'infinity'::timestamptz)"),
            "id",
            postgresql_where=LIVE,
        ),
        Index(
            "ix_todos_title_trigrams",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # migration 0006
        ),
        Index(
            "ix_todos_description_trigrams",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},  # migration 0006
        ),
        Index("ix_todos_user_status", "user_id", "status", postgresql_where=LIVE),
        Index("ix_todos_tags", "tags", postgresql_using="gin"),
        Index("ix_todos_reminder_due", "remind_at", postgresql_where=ARMED),
        Index(
            "ux_todos_recurred_from",
            "recurred_from",
            unique=True,
            postgresql_where=text("recurred_from IS NOT NULL"),
        ),
    )


class UserCounter(Base):
    __tablename__ = "user_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_number: Mapped[int]


# Events of todo changes, written in the change's transaction (see shared.outbox).
OUTBOX = outbox_table(Base.metadata)
