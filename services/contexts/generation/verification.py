"""Checks a context file before its task may become ``context_ready``.

A context is valid when every section of the template is present (as a heading, at any
level, numbering and "(for endpoints)"-style suffixes ignored), no template placeholder
is left (``{Brief description}``, ``{function_name}``, ``[TBD]``...), its title names the
task, and the function name appears. Text that comes from the task itself (a route such as
``/api/v1/todos/{todo_id}``, a document excerpt) is never taken for a placeholder.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import msgspec

from services.contexts.generation.context_template import SECTIONS
from services.contexts.generation.planned_task import PlannedTask

_HEADING = re.compile(r"(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*")  # one whole line
_WORD_CHAR = re.compile(r"\w")
_NUMBERING = re.compile(r"^(\d+[.)]|[ivx]+\.)\s+", re.IGNORECASE)
_SUFFIX = re.compile(r"\s*(\(.*\)|:)$")
_EMPHASIS = re.compile(r"[*_`]")
# The context template's one-word fields; a route parameter with another name is legitimate.
_TEMPLATE_FIELDS = (
    "task_id|FunctionName|function_name|layer|module|model_name|schema_name|resource|"
    "service|feature"
)
_PLACEHOLDER = re.compile(
    r"\{(?:" + _TEMPLATE_FIELDS + r")\}"  # {function_name}
    r"|\{[A-Za-z][A-Za-z ]*[ /][A-Za-z /]*\}"  # {Brief description}, {API/Business Logic}
    r"|\[TBD\]",
    re.IGNORECASE,
)


def _headings(markdown: str) -> list[tuple[int, str]]:
    """(level, text) of each ATX heading, as ``_HEADING`` reads a line; string methods
    instead of a pattern over the whole document (this runs for every generated file)."""
    headings = []
    for line in markdown.split("\n"):
        if not line.startswith("#"):
            continue
        body = line.lstrip("#")
        level = len(line) - len(body)
        if level > 6 or body[:1] not in (" ", "\t"):
            continue
        text = body.strip(" \t").rstrip("#").rstrip(" \t")
        if not text:  # nothing but spaces and hashes: the pattern's own reading
            match = _HEADING.fullmatch(line)
            if match is None:
                continue
            text = match.group(2)
        headings.append((level, text))
    return headings


@functools.lru_cache(maxsize=1024)  # the template's section titles repeat in every file
def _normalize(heading: str) -> str:
    text = _EMPHASIS.sub("", heading).strip()
    text = _NUMBERING.sub("", text)
    return _SUFFIX.sub("", text).strip().lower()


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _without_task_text(markdown: str, task: PlannedTask) -> str:
    """``markdown`` minus every string of the task that could look like a placeholder."""
    trusted = {s for s in _strings(msgspec.to_builtins(task)) if "{" in s or "[" in s}
    for excerpt in task.excerpts:  # quoted line by line in the file
        trusted.update(line for line in excerpt.text.splitlines() if "{" in line or "[" in line)
    for text in sorted(trusted, key=len, reverse=True):
        markdown = markdown.replace(text, "")
    return markdown


def _mentions(markdown: str, word: str) -> bool:
    """``word`` appears on its own: not inside a longer word or dotted name."""
    start = markdown.find(word)
    while start != -1:
        end = start + len(word)
        before, after = markdown[start - 1 : start] if start else "", markdown[end : end + 2]
        if not (before == "." or _is_word_char(before)) and not (
            _is_word_char(after[:1]) or (after[:1] == "." and _is_word_char(after[1:2]))
        ):
            return True
        start = markdown.find(word, start + 1)
    return False


def _is_word_char(char: str) -> bool:
    return bool(char) and _WORD_CHAR.match(char) is not None


def verify_context(markdown: str, task: PlannedTask) -> list[str]:
    """The problems of ``markdown`` as the context of ``task``; [] means valid."""
    if not markdown.strip():
        return ["the context is empty"]
    problems: list[str] = []
    headings = _headings(markdown)
    present = {_normalize(text) for _, text in headings}
    missing = [title for _, title in SECTIONS if title.lower() not in present]
    if missing:
        problems.append("missing sections: " + ", ".join(missing))
    titles = [text for level, text in headings if level == 1]
    if not titles:
        problems.append(f"no title line naming task {task.task_id}")
    elif not _mentions(titles[0], task.task_id):
        problems.append(f"the title {titles[0]!r} does not name task {task.task_id}")
    if task.function_name not in markdown:
        problems.append(f"the function name {task.function_name!r} does not appear")
    leftovers = sorted(set(_PLACEHOLDER.findall(_without_task_text(markdown, task))))
    if leftovers:
        problems.append("template placeholders left: " + ", ".join(leftovers))
    if task.missing_refs and "TODO:" not in markdown:
        problems.append("no TODO line for the missing specification")
    return problems
