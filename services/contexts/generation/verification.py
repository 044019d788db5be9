"""Checks a context file before its task may become ``context_ready``.

A context is valid when every section of the template is present (as a heading, at any
level, numbering and "(for endpoints)"-style suffixes ignored), no template placeholder
is left (``{Brief description}``, ``{function_name}``, ``[TBD]``...), its title names the
task, and the function name appears. Text that comes from the task itself (a route such as
``/api/v1/todos/{todo_id}``, a document excerpt) is never taken for a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

from services.contexts.generation.context_template import SECTIONS
from services.contexts.generation.planned_task import PlannedTask

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
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
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w]|\.\w)", markdown) is not None


def verify_context(markdown: str, task: PlannedTask) -> list[str]:
    """The problems of ``markdown`` as the context of ``task``; [] means valid."""
    if not markdown.strip():
        return ["the context is empty"]
    problems: list[str] = []
    headings = [(len(m.group(1)), m.group(2)) for m in _HEADING.finditer(markdown)]
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
