"""What recurrence means for a todo's writes: the fields a recurring todo needs, its next
occurrence when it is completed, and skipping an occurrence. The rule arithmetic itself is in
:mod:`services.todos.recurrence`.

- A recurring todo needs a ``due_at`` within 100 years of now: it anchors the series
  (``series_start``, the first occurrence, which COUNT counts from). It repeats in
  ``time_zone``: the one given, else the request's ``X-Timezone`` when that names a zone,
  else UTC.
- Sending ``recurrence`` or ``time_zone`` (re)starts the series at the todo's ``due_at``; a
  ``due_at`` changed alone moves this occurrence only. ``recurrence: null`` stops the series.
- The next occurrence is the rule's first after the todo's due date that is also in the
  future: an overdue task does not leave a backlog of past occurrences behind. It carries
  the todo's ``remind_before`` (see ``reminders``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.todos import inserts, recurrence, reminders, repository
from services.todos.recurrence import RuleError
from services.todos.schemas import Todo
from shared.auth_middleware import user_id as user_uuid
from shared.errors import ValidationFailed, invalid

Id = uuid.UUID | str

NO_DUE_AT = "is needed by a recurring todo (its series starts there)"


def default_zone(header: str | None) -> str:
    """The zone named by the request's ``X-Timezone`` when it names one, else UTC."""
    if header:
        try:
            recurrence.time_zone(header)
        except RuleError:
            return "UTC"
        return header
    return "UTC"


def checked_zone(name: str) -> str:
    try:
        recurrence.time_zone(name)
    except RuleError as exc:
        raise invalid("time_zone", str(exc), source="body") from None
    return name


def start_fields(
    rule_text: str, time_zone: str | None, due_at: datetime | None, header_zone: str | None
) -> dict[str, Any]:
    """The columns of a series starting at ``due_at`` (400 when it cannot)."""
    rule = _parsed(rule_text)
    if due_at is None:
        raise invalid("due_at", NO_DUE_AT, source="body")
    _check_due(due_at)
    zone = checked_zone(time_zone) if time_zone else default_zone(header_zone)
    try:
        recurrence.start_series(rule, recurrence.time_zone(zone), due_at)
    except RuleError as exc:
        raise _refused(exc) from None
    return {"recurrence": rule.text, "time_zone": zone, "series_start": due_at}


def patched_fields(
    current: Todo, changes: dict[str, Any], header_zone: str | None
) -> dict[str, Any]:
    """``changes`` of a PATCH to ``current``, with what they mean for its series."""
    changes = dict(changes)
    if changes.get("time_zone") is not None:
        checked_zone(changes["time_zone"])
    rule_text = changes.get("recurrence", current.recurrence)
    if rule_text is None:  # not recurring, or stopped by this PATCH
        return changes
    due_at = changes.get("due_at", current.due_at)
    if due_at is None:
        if "due_at" in changes:
            raise invalid("due_at", "cannot be cleared while the todo recurs", source="body")
        raise invalid("due_at", NO_DUE_AT, source="body")
    if "time_zone" in changes and changes["time_zone"] is None:
        raise invalid("time_zone", "cannot be cleared while the todo recurs", source="body")
    restarts = "recurrence" in changes or "time_zone" in changes or current.recurrence is None
    if "due_at" in changes:
        _check_due(due_at)
    if restarts:
        zone = changes.get("time_zone") or current.time_zone
        changes.update(start_fields(rule_text, zone, due_at, header_zone))
    return changes


def next_due(todo: Todo, series_start: datetime | None, *, now: datetime) -> datetime | None:
    """When the occurrence after ``todo`` is due: the rule's first occurrence after its due
    date that is also after ``now``; None when the series has ended."""
    if todo.recurrence is None or todo.due_at is None or series_start is None:
        return None
    zone = recurrence.time_zone(todo.time_zone or "UTC")
    series = recurrence.Series(recurrence.parse_rule(todo.recurrence), zone, series_start)
    return series.next_after(max(todo.due_at, now))


async def next_occurrence(session: AsyncSession, owner: Id, done_id: uuid.UUID) -> Todo | None:
    """The occurrence the completion of ``done_id`` created (what "Next: ..." says)."""
    return await repository.next_occurrence(session, user_uuid(owner), done_id)


async def create_next(
    session: AsyncSession, owner: uuid.UUID, done: Todo, series_start: datetime | None
) -> Todo | None:
    """The occurrence after ``done``, just completed by this transaction; None when its series
    has ended or ``done`` already has its next occurrence."""
    now = datetime.now(UTC)
    due_at = next_due(done, series_start, now=now)
    if due_at is None:
        return None
    reminder = reminders.next_occurrence_fields(done, due_at, now=now)
    return await inserts.insert_next_occurrence(session, owner, done.id, due_at, reminder)


def _check_due(due_at: datetime) -> None:
    try:
        recurrence.check_due(due_at, datetime.now(UTC))
    except RuleError as exc:
        raise invalid("due_at", str(exc), source="body") from None


def _parsed(rule_text: str) -> recurrence.Rule:
    try:
        return recurrence.parse_rule(rule_text)
    except RuleError as exc:
        raise _refused(exc) from None


def _refused(exc: RuleError) -> ValidationFailed:
    return invalid("recurrence", str(exc), source="body")
