"""What a todo's reminder is and when it is armed; the scheduler that fires it is in
:mod:`services.todos.reminder_scheduler`.

- A reminder is either relative (``remind_before``, a duration before ``due_at``, stored in
  seconds: 0 < it <= 366 days) or absolute (``remind_at``). Either way the todo stores its
  effective ``remind_at``; giving both, a relative one without ``due_at``, or one the
  client sets in the past is refused (400). ``null`` for either clears the reminder.
- ``reminded_at`` says the reminder is done with: fired, or its time passed while it was
  not armed (the todo completed or deleted, or moved so that its new time had passed). A
  reminder is armed while ``reminded_at`` is NULL, the todo pending and not deleted.
- Changing ``due_at`` or the reminder re-arms it when its time moves to the future.
- The next occurrence of a recurring todo carries ``remind_before`` forward; an absolute
  ``remind_at`` belongs to one occurrence only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.todos.durations import DurationError, format_duration, parse_duration
from services.todos.schemas import Todo
from shared.errors import invalid

MAX_REMIND_BEFORE = timedelta(days=366)
REMINDER_FIELDS = frozenset({"due_at", "remind_before", "remind_at"})


def remind_before_seconds(text: str) -> int:
    """The seconds of a ``remind_before`` sent by a client (400 when refused)."""
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise invalid("remind_before", str(exc), source="body") from None
    if seconds <= 0:
        raise invalid("remind_before", "must be longer than zero", source="body")
    if seconds > MAX_REMIND_BEFORE.total_seconds():
        raise invalid("remind_before", "must be at most 366 days (P366D)", source="body")
    return seconds


def stored_seconds(todo: Todo) -> int | None:
    """The ``remind_before`` of a todo read back (canonical text) in seconds."""
    return None if todo.remind_before is None else parse_duration(todo.remind_before)


def create_fields(
    due_at: datetime | None,
    remind_before: str | None,
    remind_at: datetime | None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The reminder columns of a new todo."""
    return _fields(due_at, remind_before, remind_at, set_by_client=True, now=now)


def patched_fields(current: Todo, changes: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """``changes`` of a PATCH (or a skip: ``due_at`` alone) with the reminder they imply."""
    if not changes.keys() & REMINDER_FIELDS:
        return changes
    due_at = changes.get("due_at", current.due_at)
    sent_before, sent_at = changes.get("remind_before"), changes.get("remind_at")
    if "remind_before" in changes or "remind_at" in changes:
        # Sent by the client: a null clears the reminder unless the other one sets it.
        fields = _fields(due_at, sent_before, sent_at, set_by_client=True, now=now)
    elif current.remind_before is not None:  # due_at moved: a relative reminder moves too
        fields = _fields(due_at, current.remind_before, None, set_by_client=False, now=now)
    else:
        fields = {"remind_before": None, "remind_at": current.remind_at}
    merged = {**changes, **fields}
    if fields["remind_at"] != current.remind_at:
        merged["reminded_at"] = _armed_state(fields["remind_at"], now)
    return merged


def next_occurrence_fields(done: Todo, due_at: datetime, *, now: datetime) -> dict[str, Any]:
    """The reminder columns of the occurrence after ``done``, due at ``due_at``."""
    seconds = stored_seconds(done)
    if seconds is None:
        return {"remind_before": None, "remind_at": None, "reminded_at": None}
    remind_at = due_at - timedelta(seconds=seconds)
    return {
        "remind_before": seconds,
        "remind_at": remind_at,
        "reminded_at": _armed_state(remind_at, now),
    }


def _fields(
    due_at: datetime | None,
    remind_before: str | None,
    remind_at: datetime | None,
    *,
    set_by_client: bool,
    now: datetime,
) -> dict[str, Any]:
    if remind_before is not None and remind_at is not None:
        raise invalid("remind_at", "cannot be given with remind_before: pick one", source="body")
    seconds = None
    if remind_before is not None:
        seconds = remind_before_seconds(remind_before)
        if due_at is None:
            raise invalid("remind_before", "needs a due_at to count back from", source="body")
        try:
            remind_at = due_at - timedelta(seconds=seconds)
        except OverflowError:  # due_at within days of the year 1
            raise invalid("remind_before", "reaches before the year 1", source="body") from None
        if set_by_client and remind_at <= now:
            raise invalid(
                "remind_before",
                f"puts the reminder in the past ({format_duration(seconds)} before due_at)",
                source="body",
            )
    elif remind_at is not None and set_by_client and remind_at <= now:
        raise invalid("remind_at", "must lie in the future", source="body")
    return {"remind_before": seconds, "remind_at": remind_at}


def _armed_state(remind_at: datetime | None, now: datetime) -> datetime | None:
    """``reminded_at`` for a reminder (re)set to ``remind_at``: armed (None) when that is in
    the future; a time that has passed is not sent."""
    return None if remind_at is None or remind_at > now else now
