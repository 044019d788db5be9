"""Reminders: the durations accepted and refused, the effective remind_at of a todo, what a
PATCH re-arms, and what the next occurrence of a recurring todo carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.todos.durations import DurationError, format_duration, parse_duration
from services.todos.reminders import (
    create_fields,
    next_occurrence_fields,
    patched_fields,
    remind_before_seconds,
)
from services.todos.schemas import Todo
from shared.errors import ValidationFailed

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
DUE = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def todo(**fields: Any) -> Todo:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "number": 1,
        "title": "A todo",
        "description": None,
        "status": "pending",
        "priority": "medium",
        "due_at": DUE,
        "remind_before": None,
        "remind_at": None,
        "tags": [],
        "recurrence": None,
        "time_zone": None,
        "recurred_from": None,
        "created_at": NOW,
        "updated_at": NOW,
        "completed_at": None,
        "version": 1,
    }
    return Todo(**{**values, **fields})


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        ("PT30M", 1800, "PT30M"),
        ("P1D", 86400, "P1D"),
        ("PT1H30M", 5400, "PT1H30M"),
        ("PT90M", 5400, "PT1H30M"),
        ("P1W", 604800, "P7D"),
        ("P1DT2H", 93600, "P1DT2H"),
        ("PT45S", 45, "PT45S"),
        ("pt15m", 900, "PT15M"),
        ("P366D", 366 * 86400, "P366D"),
    ],
)
def test_durations_are_read_and_written_back_canonically(text, seconds, canonical):
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == canonical
    assert remind_before_seconds(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30 minutes", "ISO 8601 duration"),
        ("P", "ISO 8601 duration"),
        ("PT", "ISO 8601 duration"),
        ("P1DT", "ISO 8601 duration"),
        ("PT1.5H", "ISO 8601 duration"),
        ("-PT5M", "ISO 8601 duration"),
        ("P1M", "years and months"),
        ("P1Y", "years and months"),
        ("P" + "1" * 50 + "D", "ISO 8601 duration"),
    ],
)
def test_malformed_durations_are_refused(text, message):
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [("PT0S", "longer than zero"), ("P367D", "366 days"), ("P999999999W", "366 days")],
)
def test_durations_out_of_bounds_are_a_validation_error(text, message):
    with pytest.raises(ValidationFailed, match=message):
        remind_before_seconds(text)


def test_the_effective_remind_at_counts_back_from_due_at_or_is_as_given():
    assert create_fields(DUE, "PT30M", None, now=NOW) == {
        "remind_before": 1800,
        "remind_at": DUE - timedelta(minutes=30),
    }
    absolute = NOW + timedelta(minutes=5)
    assert create_fields(None, None, absolute, now=NOW) == {
        "remind_before": None,
        "remind_at": absolute,
    }
    assert create_fields(DUE, None, None, now=NOW) == {"remind_before": None, "remind_at": None}


@pytest.mark.parametrize(
    ("due_at", "remind_before", "remind_at", "message"),
    [
        (DUE, "PT30M", NOW + timedelta(minutes=5), "pick one"),
        (None, "PT30M", None, "needs a due_at"),
        (DUE, "PT2H", None, "in the past"),
        (DUE, None, NOW - timedelta(seconds=1), "in the future"),
    ],
)
def test_a_reminder_set_by_a_client_is_refused(due_at, remind_before, remind_at, message):
    with pytest.raises(ValidationFailed, match=message):
        create_fields(due_at, remind_before, remind_at, now=NOW)


def test_moving_due_at_moves_a_relative_reminder_and_re_arms_it():
    current = todo(remind_before="PT30M", remind_at=DUE - timedelta(minutes=30))
    later = DUE + timedelta(days=1)
    changes = patched_fields(current, {"due_at": later}, now=NOW)
    assert changes["remind_at"] == later - timedelta(minutes=30)
    assert changes["remind_before"] == 1800
    assert changes["reminded_at"] is None  # armed again, even if it had fired


def test_moving_due_at_so_the_reminder_has_passed_does_not_send_it():
    current = todo(remind_before="PT30M", remind_at=DUE - timedelta(minutes=30))
    changes = patched_fields(current, {"due_at": NOW}, now=NOW)
    assert changes["remind_at"] == NOW - timedelta(minutes=30)
    assert changes["reminded_at"] == NOW  # done with: not sent late


def test_an_absolute_reminder_stays_when_due_at_moves():
    remind_at = NOW + timedelta(minutes=10)
    current = todo(remind_at=remind_at)
    changes = patched_fields(current, {"due_at": DUE + timedelta(days=1)}, now=NOW)
    assert changes["remind_at"] == remind_at and "reminded_at" not in changes


def test_a_null_clears_the_reminder_and_other_changes_leave_it_alone():
    current = todo(remind_before="PT30M", remind_at=DUE - timedelta(minutes=30))
    cleared = patched_fields(current, {"remind_before": None}, now=NOW)
    assert cleared["remind_before"] is None and cleared["remind_at"] is None
    assert patched_fields(current, {"title": "x"}, now=NOW) == {"title": "x"}
    switched = patched_fields(current, {"remind_before": None, "remind_at": DUE}, now=NOW)
    assert switched["remind_at"] == DUE and switched["remind_before"] is None


def test_the_next_occurrence_carries_remind_before_but_not_an_absolute_remind_at():
    following = DUE + timedelta(days=7)
    relative = todo(remind_before="P1D", remind_at=DUE - timedelta(days=1))
    assert next_occurrence_fields(relative, following, now=NOW) == {
        "remind_before": 86400,
        "remind_at": following - timedelta(days=1),
        "reminded_at": None,
    }
    absolute = todo(remind_at=NOW + timedelta(minutes=5))
    assert next_occurrence_fields(absolute, following, now=NOW) == {
        "remind_before": None,
        "remind_at": None,
        "reminded_at": None,
    }
    soon = NOW + timedelta(hours=1)  # one day before it has passed already: not sent
    carried = next_occurrence_fields(relative, soon, now=NOW)
    assert carried["remind_at"] == soon - timedelta(days=1) and carried["reminded_at"] == NOW


def test_a_reminder_before_the_year_1_is_a_validation_error():
    with pytest.raises(ValidationFailed, match="year 1"):
        create_fields(datetime(1, 1, 1, tzinfo=UTC), "P1D", None, now=NOW)
