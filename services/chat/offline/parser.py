"""``parse(text, now) -> Intent``: the offline engine's grammar, as a table of patterns.

A message is tidied (quotes, spacing, "please", final punctuation), then matched against
``RULES`` in order; the first rule whose pattern matches and whose builder accepts the match
wins. Patterns are case-insensitive and mostly anchored at the start, so a word inside a
title ("add a task to help mom") does not change the intent. Builders peel the modifiers
(dates, priority, #tags, quoted text) off the words they are given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.chat.offline import changes, grammar
from services.chat.offline.dates import When, find_when
from services.chat.offline.intents import (
    Action,
    AddTask,
    ChangeStatus,
    Chat,
    ChatKind,
    Choose,
    ClearCompleted,
    Intent,
    ListTasks,
    StatusFilter,
    TaskRef,
    Undo,
)
from services.chat.offline.phrases import (
    QUOTED,
    as_title,
    iso_duration,
    strip_fillers,
    take_priority,
    take_quoted,
    take_tags,
    task_refs,
)
from services.chat.offline.repeats import find_repeat, without
from services.chat.schemas import Priority

Builder = Callable[[re.Match[str], datetime], Intent | None]


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    build: Builder


# Everyday requests are short; the patterns only ever see this many characters, which keeps
# the worst case of every rule small however long a message is.
MAX_PARSED = 300


def parse(text: str, now: datetime) -> Intent:
    """What ``text`` asks for; ``now`` (aware, user's zone) anchors relative dates."""
    clean = tidy(text[:MAX_PARSED])
    for rule in RULES:
        match = rule.pattern.search(clean)
        if match:
            intent = rule.build(match, now)
            if intent is not None:
                return intent
    return Chat("unknown", text)


def tidy(text: str) -> str:
    """One spacing, straight quotes, no polite lead-in or final punctuation."""
    text = text.translate(str.maketrans("\u201c\u201d\u2018\u2019", "\"\"''"))
    text = " ".join(text.split()).strip()
    previous = None
    while previous != text:
        previous = text
        text = grammar.LEAD_IN.sub("", text).strip()
        text = grammar.TAIL.sub("", text).strip()
    return text


# -- builders: one per kind of sentence --------------------------------------------------


def _chat(kind: ChatKind) -> Builder:
    return lambda _match, _now: Chat(kind)


def _undo(_match: re.Match[str], _now: datetime) -> Intent:
    return Undo()


def _clear_completed(_match: re.Match[str], _now: datetime) -> Intent:
    return ClearCompleted()


def _choose(match: re.Match[str], _now: datetime) -> Intent:
    if match.group("number"):
        return Choose(number=int(match.group("number")))
    if match.group("bare"):  # a bare "2" is task 2, never "the second one"
        return Choose(number=int(match.group("bare")))
    word = match.group("ordinal").lower()
    return Choose(position=int(word[:-2]) if word[0].isdigit() else grammar.ORDINALS[word])


def _status(action: Action) -> Builder:
    def build(match: re.Match[str], _now: datetime) -> Intent | None:
        if grammar.BULK.match(match.group("target")):
            return Chat("bulk")
        refs = task_refs(match.group("target"))
        if refs is None:
            return None
        if action == "restore" and refs == (TaskRef(),):
            return Undo()  # "restore it" right after a delete
        return ChangeStatus(action, refs)

    return build


def _add(match: re.Match[str], now: datetime) -> Intent | None:
    pre = (match.groupdict().get("pre") or "").strip()
    if pre and _modifiers(pre, now)[0]:  # only modifiers may come first: "tomorrow, remind me"
        return None
    words = grammar.TO_MY_LIST.sub(" ", f"{pre} {match.group('rest')}")
    quoted, words = take_quoted(words)
    ahead = grammar.BEFORE.search(words)  # "..., remind me 30 minutes before"
    remind_before = iso_duration(ahead.group("ahead")) if ahead else None
    if ahead is not None:
        words = f"{words[: ahead.start()]} {words[ahead.end() :]}"
    return _new_task(words, quoted, remind_before, now)


def _new_task(
    words: str, quoted: str | None, remind_before: str | None, now: datetime
) -> Intent | None:
    """The task ``words`` describe: a title, and a repeat phrase, #tags, priority or date."""
    repeat = find_repeat(words, now)
    if repeat is not None:  # "every monday at 9am": the series' first occurrence is its due
        words = without(words, repeat)
    words, (tags, priority, when) = _modifiers(words, now)
    title = quoted or strip_fillers(grammar.TASK_HEAD.sub("", strip_fillers(words)))
    title = re.sub(r"^(?:to|that|about)\s+", "", title, flags=re.I)
    if not title or title == QUOTED or grammar.ONLY_A_NUMBER.match(title):
        return None
    if repeat is not None:
        return AddTask(as_title(title), priority, repeat.first, tags, repeat.rule, remind_before)
    return AddTask(as_title(title), priority, when.at if when else None, tags, None, remind_before)


def _modifiers(
    text: str, now: datetime
) -> tuple[str, tuple[tuple[str, ...], Priority | None, When | None]]:
    """``text`` without its #tags, priority and date phrase, and those three."""
    tags, text = take_tags(text)
    priority, text = take_priority(text)
    when = find_when(text, now)
    if when is not None:
        text = f"{text[: when.span[0]]} {text[when.span[1] :]}"
    return strip_fillers(text), (tags, priority, when)


def _list(match: re.Match[str], now: datetime) -> Intent | None:
    text = match.string
    tags, text = take_tags(text)
    priority, text = take_priority(text)
    when = find_when(text, now)
    status: StatusFilter = "all"
    if grammar.PENDING_WORDS.search(text) or when is not None:
        status = "pending"
    elif grammar.COMPLETED_WORDS.search(text):
        status = "completed"
    due_before = due_after = None
    overdue = bool(grammar.OVERDUE.search(text))
    if overdue:
        status = "pending"
    elif when is not None:
        due_before = when.end
        due_after = None if when.open_start else when.start
    phrase = text[when.span[0] : when.span[1]].strip().lower() if when else None
    if phrase:  # "what's on for tomorrow": the tasks "due tomorrow"
        phrase = re.sub(r"^(?:for|on)\s+", "", phrase)
    label = _list_label(status, priority, tags, match.string, phrase)
    tag = tags[0] if tags else None
    return ListTasks(status, priority, tag, due_before, due_after, label, overdue)


def _agenda(match: re.Match[str], now: datetime) -> Intent | None:
    """ "what do I have tomorrow": a listing when the rest is a date phrase, or nothing."""
    rest = match.group("rest")
    when = find_when(rest, now)
    if when is not None:
        rest = f"{rest[: when.span[0]]} {rest[when.span[1] :]}"
    if grammar.AGENDA_WORDS.sub(" ", rest).strip():
        return None  # "what do I have to lose", "what's on your mind"
    return _list(match, now)


def _list_label(
    status: StatusFilter, priority: str | None, tags: tuple[str, ...], text: str, when: str | None
) -> str:
    words = {"all": "", "pending": "pending ", "completed": "completed "}[status]
    if grammar.OVERDUE.search(text):
        return "overdue tasks"
    label = f"{priority + ' priority ' if priority else ''}{words}tasks"
    if tags:
        label += f" tagged #{tags[0]}"
    if when:
        label += f" {when}" if when.startswith("due") else f" due {when}"
    return label


def _add_reminded(match: re.Match[str], now: datetime) -> Intent | None:
    """ "remind me 30 minutes before the meeting tomorrow at 3pm" (or "... standup every
    day at 9"): a new task due then; without a date it names a task (``changes.remind``)."""
    what = match.group("what")
    if find_when(what, now) is None and find_repeat(what, now) is None:
        return None
    quoted, words = take_quoted(what)
    return _new_task(words, quoted, iso_duration(match.group("ahead")), now)


def _add_repeating(match: re.Match[str], now: datetime) -> Intent | None:
    """ "standup every weekday at 8:30": a title and a repeat phrase is a task to add."""
    return _add(match, now) if find_repeat(match.string, now) is not None else None


def _rule(pattern: str, build: Builder) -> Rule:
    return Rule(re.compile(pattern, re.IGNORECASE), build)


# -- the grammar: first match wins ------------------------------------------------------

RULES: tuple[Rule, ...] = (
    *(_rule(p, _chat("thanks")) for p in grammar.THANKS),
    *(_rule(p, _chat("cancel")) for p in grammar.CANCEL),
    *(_rule(p, _chat("greeting")) for p in grammar.GREETING),
    *(_rule(p, _chat("help")) for p in grammar.HELP),
    *(_rule(p, _undo) for p in grammar.UNDO),
    *(_rule(p, _choose) for p in grammar.CHOOSE),
    *(_rule(p, _clear_completed) for p in grammar.CLEAR_COMPLETED),
    *(_rule(p, _list) for p in grammar.LIST),
    *(_rule(p, _agenda) for p in grammar.AGENDA),
    *(_rule(p, changes.stop_repeat) for p in grammar.STOP_REPEAT),
    *(_rule(p, changes.repeat) for p in grammar.REPEAT),
    *(_rule(p, changes.skip) for p in grammar.SKIP),
    *(_rule(p, _add_reminded) for p in grammar.REMIND_NEW),
    *(_rule(p, changes.remind) for p in grammar.REMIND),
    *(_rule(p, changes.make) for p in grammar.MAKE),
    *(_rule(p, changes.prioritise("high")) for p in grammar.PRIORITISE),
    *(_rule(p, changes.prioritise("low")) for p in grammar.DEPRIORITISE),
    *(_rule(p, changes.update) for p in grammar.UPDATE),
    *(_rule(p, changes.tag) for p in grammar.TAG),
    *(_rule(p, _status("reopen")) for p in grammar.REOPEN),
    *(_rule(p, _status("complete")) for p in grammar.COMPLETE),
    *(_rule(p, _status("delete")) for p in grammar.DELETE),
    *(_rule(p, _status("restore")) for p in grammar.RESTORE),
    *(_rule(p, _add) for p in grammar.ADD),
    _rule(r"^(?P<rest>.+)$", _add_repeating),
)
