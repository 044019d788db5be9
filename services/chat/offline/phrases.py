"""Pieces found inside a message: quoted titles, #tags, priorities and task references.

Each ``take_*`` function returns what it found and the text without it, so the parser can
peel the modifiers off a sentence and keep the rest as a title ("remind me to call mom
tomorrow at 5pm #family" -> title "call mom", due tomorrow 17:00, tag "family").
"""

from __future__ import annotations

import re

from services.chat.offline.intents import TaskRef
from services.chat.schemas import Priority

QUOTED = "QUOTED"  # stands where a quotation was taken out of the text
# Quotes of either kind; a single quote only counts when it is not an apostrophe ("what's").
_QUOTED = re.compile(r"\"([^\"]+)\"|(?<![\w'])'([^']+)'(?!\w)")
_TAG = re.compile(
    r"(?<![\w#&])#([A-Za-z][\w-]{0,49})|\btagged\s+(?:as\s+|with\s+)?([A-Za-z][\w-]*)", re.I
)

_LEVELS: dict[str, Priority] = {
    "high": "high",
    "top": "high",
    "important": "high",
    "low": "low",
    "medium": "medium",
    "normal": "medium",
    "urgent": "urgent",
    "urgently": "urgent",
    "asap": "urgent",
}
_PRIORITY = (
    re.compile(
        r"\b(?:with\s+|at\s+|as\s+|of\s+)?(?:a\s+)?(high|low|medium|normal|top|urgent)[\s-]+prio(?:rity)?\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:with\s+)?prio(?:rity)?\s*(?::|=|of|is|to)?\s*(high|low|medium|normal|urgent|top)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:!|\b(?:as\s+|it'?s\s+|it\s+is\s+))?\b(urgent|urgently|asap|important)\b", re.IGNORECASE
    ),
)

# What may stand around a task's name: "the", "my", "task called", "one", ...
_NAME_LEAD = re.compile(
    r"^(?:(?:the|my|a|an|that|this|those|these)\s+)*"
    r"(?:(?:task|todo|to-do|item|reminder|one)s?\s+(?:called|named|titled|about|for|to|with|that\s+says)\s+)?",
    re.IGNORECASE,
)
_NAME_TAIL = re.compile(
    r"(?:\s+(?:task|todo|to-do|item|one|thing|reminder)s?)?"
    r"(?:\s+(?:from|on|in)\s+(?:my|the)\s+(?:list|tasks|todos|todo\s+list))?$",
    re.IGNORECASE,
)
_NUMBERS = re.compile(
    r"^(?:the\s+)?(?:(?:task|todo|to-do|item)s?\s+)?(?:(?:number|no\.?)\s*)?#?\s*(\d+)"
    # Possessive: "1, 2, ... x" fails in linear time instead of trying every split of spaces.
    r"((?:\s*+(?:,|and|&|\+)\s*+(?:(?:task|number)\s++)?+#?+\s*+\d++)*+)$",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_WORD_NUMBER = re.compile(rf"\b(task|number)\s+({'|'.join(_NUMBER_WORDS)})\b", re.I)
_PRONOUN = re.compile(r"^(?:it|that|this|that\s+one|this\s+one|the\s+last\s+one)$", re.I)


def take_quoted(text: str) -> tuple[str | None, str]:
    """The first quoted text, and the text with that quotation replaced by a marker."""
    match = _QUOTED.search(text)
    if match is None:
        return None, text
    quoted = (match.group(1) or match.group(2)).strip()
    return quoted or None, _cut(text, match.span(), QUOTED)


def take_tags(text: str) -> tuple[tuple[str, ...], str]:
    tags: list[str] = []
    for match in _TAG.finditer(text):
        tag = (match.group(1) or match.group(2)).lower()
        if tag not in tags:
            tags.append(tag)
    return tuple(tags), _TAG.sub(" ", text)


def take_priority(text: str) -> tuple[Priority | None, str]:
    for pattern in _PRIORITY:
        match = pattern.search(text)
        if match:
            return _LEVELS[match.group(1).lower()], _cut(text, match.span())
    return None, text


def priority_word(text: str) -> Priority | None:
    """A priority when ``text`` is nothing but one ("urgent", "high priority", "a low one")."""
    level, rest = take_priority(text)
    if level is None:
        bare = re.fullmatch(r"(?:a\s+|the\s+)?(high|low|medium|normal|top)(?:\s+one)?", text, re.I)
        return _LEVELS[bare.group(1).lower()] if bare else None
    return level if not strip_fillers(rest) else None


def task_refs(text: str) -> tuple[TaskRef, ...] | None:
    """The tasks a phrase names: numbers ("tasks 2 and 3"), a name, or "it" (empty TaskRef)."""
    text = _WORD_NUMBER.sub(lambda m: f"{m.group(1)} {_NUMBER_WORDS[m.group(2).lower()]}", text)
    text = text.strip(" ,.!?:")
    quoted, _ = take_quoted(text)
    if quoted:
        return (TaskRef(name=quoted),)
    if _PRONOUN.match(text):
        return (TaskRef(),)
    numbers = _NUMBERS.match(text)
    if numbers:
        found = [int(n) for n in re.findall(r"\d+", numbers.group(0))]
        return tuple(TaskRef(number=n) for n in dict.fromkeys(found) if n >= 1) or None
    name = _NAME_TAIL.sub("", _NAME_LEAD.sub("", text)).strip(" ,.!?:")
    if not name or name.lower() in ("task", "todo", "one", "tasks", "all"):
        return None
    return (TaskRef(name=name),)


def strip_fillers(text: str) -> str:
    """Drop the connecting words a removed modifier leaves behind ("with", "due", "and")."""
    edge = r"(?:with|and|due|priority|[,;:-])"
    text = " ".join(text.split())
    text = re.sub(rf"^(?:{edge}(?:\s+|$))+|(?:(?:^|\s+){edge})+$", "", text, flags=re.I)
    return text.strip(" ,.;:-")


def as_title(text: str) -> str:
    """A title as the user would write it: first letter capitalised, the rest untouched."""
    text = " ".join(text.split()).strip(" ,.;:-")
    return text[:1].upper() + text[1:]


def _cut(text: str, span: tuple[int, int], marker: str = "") -> str:
    start, end = span
    return f"{text[:start]} {marker} {text[end:]}"


def word_stem(word: str) -> str:
    """The part of a word its other forms share, roughly: "bills" -> "bill", "meetings" ->
    "meeting", "groceries" -> "grocer", "boxes" -> "box", "called" -> "call". Matched as the
    start of a word, it finds the other forms; at least three letters are kept."""
    for suffix, keep in (("ies", ""), ("ing", ""), ("ed", ""), ("es", "sxz"), ("s", "")):
        base = word[: -len(suffix)]
        if not word.endswith(suffix) or len(base) < 3:
            continue
        if keep and not base.endswith(tuple(keep)) and not base.endswith(("ch", "sh")):
            continue
        if suffix == "s" and base.endswith(("s", "u", "i")):  # "class", "status", "analysis"
            continue
        return base
    return word


_UNITS = {"minute": "M", "min": "M", "hour": "H", "hr": "H", "day": "D", "week": "W"}
_AMOUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def iso_duration(text: str) -> str | None:
    """ "30 minutes" -> "PT30M", "an hour" -> "PT1H", "half an hour" -> "PT30M", "2 days" ->
    "P2D", "a week" -> "P7D"; None for anything else."""
    words = text.lower().split()
    if words[:3] == ["half", "an", "hour"]:
        return "PT30M"
    match = re.fullmatch(r"(\d{1,4}|an?|one|two|three)\s*([a-z]+?)s?", " ".join(words))
    if match is None:
        return None
    amount = _AMOUNTS.get(match.group(1)) or int(match.group(1))
    unit = _UNITS.get(match.group(2))
    if unit is None or amount < 1:
        return None
    if unit == "W":
        return f"P{amount * 7}D"
    return f"P{amount}D" if unit == "D" else f"PT{amount}{unit}"
