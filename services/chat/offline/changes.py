"""The parser's builders for sentences that change one task: rename, reprioritise,
reschedule, tag, make it repeat or stop repeating, skip an occurrence (``parser.RULES``
names them). Each gets the rule's match and ``now`` and returns the intent, or None when
the sentence is not one it understands after all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from services.chat.offline.dates import find_when
from services.chat.offline.intents import (
    Intent,
    Remind,
    Repeat,
    Skip,
    TagTask,
    TaskRef,
    UpdateTask,
)
from services.chat.offline.phrases import (
    QUOTED,
    as_title,
    iso_duration,
    priority_word,
    strip_fillers,
    take_priority,
    take_quoted,
    task_refs,
)
from services.chat.offline.repeats import find_repeat, without
from services.chat.schemas import Priority

Builder = Callable[[re.Match[str], datetime], Intent | None]


def update(match: re.Match[str], now: datetime) -> Intent | None:
    """Rename, reprioritise or reschedule.

    A named field ("the priority of task 2 to ...") or a ``rename`` pattern decides; else the
    value does: quoted text is a title, a priority word a priority, a date phrase a due date
    (always for "move"/"postpone"), anything else a new title ("change task 1 to call dad").
    """
    refs = task_refs(match.group("target"))
    if refs is None or len(refs) != 1:
        return None
    field = (match.groupdict().get("field") or "").lower()
    value = match.group("value").strip()
    quoted, bare = take_quoted(value)
    if (
        match.groupdict().get("rename") is not None
        or field in ("title", "name")
        or (quoted and not strip_fillers(bare.replace(QUOTED, "")))
    ):
        return UpdateTask(refs[0], title=as_title(quoted or value))
    priority = priority_word(value)
    when = find_when(value, now)
    whole_date = when is not None and not strip_fillers(
        value[: when.span[0]] + value[when.span[1] :]
    )
    if field == "priority" or (not field and priority):
        return UpdateTask(refs[0], priority=priority) if priority else None
    if field or whole_date or match.groupdict().get("move"):
        return UpdateTask(refs[0], due_at=when.at) if when else None
    return UpdateTask(refs[0], title=as_title(value))


def make(match: re.Match[str], now: datetime) -> Intent | None:
    """ "make task 2 urgent", "mark task 2 as high priority", "make task 2 due friday"."""
    refs = task_refs(match.group("target"))
    if refs is None or len(refs) != 1:
        return None
    value = match.group("value")
    level = priority_word(value)  # the whole value is a priority: "urgent", "high", "a low one"
    if level is not None:
        return UpdateTask(refs[0], priority=level)
    priority, rest = take_priority(
        value
    )  # else a priority and/or a date: "high priority, due friday"
    when = find_when(rest, now)
    if when is not None:
        rest = rest[: when.span[0]] + rest[when.span[1] :]
    if strip_fillers(rest) or (priority is None and when is None):
        return None  # something else is said too: not a change we understand
    return UpdateTask(refs[0], priority=priority, due_at=when.at if when else None)


def prioritise(level: Priority) -> Builder:
    def build(match: re.Match[str], _now: datetime) -> Intent | None:
        refs = task_refs(match.group("target"))
        if refs is None or len(refs) != 1:
            return None
        return UpdateTask(refs[0], priority=level)

    return build


def repeat(match: re.Match[str], now: datetime) -> Intent | None:
    """ "make task 3 repeat weekly": the whole value must be a repeat phrase."""
    refs = task_refs(match.group("target"))
    repeat = find_repeat(match.group("value"), now)
    if refs is None or len(refs) != 1 or repeat is None:
        return None
    if strip_fillers(without(match.group("value"), repeat)):
        return None  # something else is said too
    fixes_time = len(repeat.spans) > 1 or ";BY" in repeat.rule
    return Repeat(refs[0], repeat.rule, repeat.first, fixes_time)


def remind(match: re.Match[str], now: datetime) -> Intent | None:
    """ "remind me about task 2 tomorrow at 9", "remind me 30 minutes before task 2", or
    without a task, "remind me 30 minutes before" (the task the conversation is about)."""
    refs = _one_target(match)
    if refs is None:
        return None
    if match.groupdict().get("ahead"):
        before = iso_duration(match.group("ahead"))
        return Remind(refs[0], before=before) if before else None
    when = find_when(match.group("value"), now)
    return Remind(refs[0], at=when.at) if when else None


def stop_repeat(match: re.Match[str], _now: datetime) -> Intent | None:
    refs = task_refs(match.group("target"))
    return Repeat(refs[0], None) if refs is not None and len(refs) == 1 else None


def skip(match: re.Match[str], _now: datetime) -> Intent | None:
    refs = _one_target(match)
    return Skip(refs[0]) if refs is not None else None


def _one_target(match: re.Match[str]) -> tuple[TaskRef, ...] | None:
    """The one task the match names; "it" (an empty reference) when it names none."""
    target = match.groupdict().get("target")
    refs = task_refs(target) if target is not None else (TaskRef(),)
    return refs if refs is not None and len(refs) == 1 else None


def tag(match: re.Match[str], _now: datetime) -> Intent | None:
    refs = task_refs(match.group("target"))
    words = re.split(r"\s*(?:,|\band\b|&|\s)\s*", match.group("tags"))
    tags = tuple(dict.fromkeys(w.lstrip("#").lower() for w in words if w.lstrip("#")))
    if refs is None or len(refs) != 1 or not tags:
        return None
    return TagTask(refs[0], tags)
