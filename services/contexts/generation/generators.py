"""Generators turn one ``PlannedTask`` into the markdown of its context file.

``TemplateGenerator`` is the default: deterministic, offline and fast. ``LlmGenerator``
asks an OpenAI-compatible chat-completions endpoint for the same sections; its answer is
returned as is (after unwrapping a surrounding code fence) so that verification, and the
worker's retries, judge it like any other.
"""

from __future__ import annotations

import json
import re
from typing import Protocol

import msgspec
import openai

from services.contexts.generation.context_template import (
    SECTIONS,
    render_context,
    title_line,
    todo_lines,
)
from services.contexts.generation.planned_task import PlannedTask
from shared.metrics import observe_llm_call


class Generator(Protocol):
    async def generate(self, task: PlannedTask) -> str: ...


class TemplateGenerator:
    """Fills the context template from the task alone; no I/O."""

    async def generate(self, task: PlannedTask) -> str:
        return render_context(task)


LLM_CALLER = "contexts-worker"  # the caller label of the model-request metrics
_FENCE = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n```\s*$", re.DOTALL)

SYSTEM_PROMPT = """\
You write context files for backend functions: one markdown document that a developer \
reads before implementing the function test-first.
Rules:
- Start with the title line exactly as given.
- Use every heading listed, in that order, with the same words (## or ### as listed); \
you may add more headings and text inside them.
- Write about this function only: its parameters, route, tables, dependencies and the \
specification excerpts given. Do not invent other tables or features.
- Sections that do not apply still appear and say why (for example "Not an endpoint").
- Never leave template placeholders such as {Brief description}, {function_name} or [TBD].
- Keep every TODO line given, verbatim, under "Specification Excerpts".
- Answer with the markdown document only."""


def build_messages(task: PlannedTask) -> list[dict[str, str]]:
    """The chat messages for ``task``: the rules, the headings, and the task as JSON."""
    headings = "\n".join(f"{'#' * level} {title}" for level, title in SECTIONS)
    todos = todo_lines(task)
    details = msgspec.to_builtins(task)
    details.pop("warnings", None)
    user = "\n\n".join(
        part
        for part in (
            f"Title line:\n{title_line(task)}",
            f"Headings, in order:\n{headings}",
            "TODO lines to keep:\n" + "\n".join(todos) if todos else "",
            "The task (from the task registry, with its dependencies both ways and the "
            "excerpts of the project documents):\n"
            + json.dumps(details, indent=1, ensure_ascii=False),
        )
        if part
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class LlmGenerator:
    """Asks a chat-completions model for the context; errors surface as ``openai`` errors."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, *, temperature: float = 0.2) -> None:
        self.client = client
        self.model = model
        self.temperature = temperature

    async def generate(self, task: PlannedTask) -> str:
        async with observe_llm_call(LLM_CALLER):
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=build_messages(task),  # type: ignore[arg-type]
                temperature=self.temperature,
            )
            content = completion.choices[0].message.content if completion.choices else None
            if not content:  # counted as an invalid response; the task is retried
                raise ValueError("the model answered with no content")
        return unwrap(content)


def unwrap(content: str) -> str:
    """The document without the ```markdown fence some models put around it."""
    match = _FENCE.match(content)
    return (match.group(1) if match else content).strip() + "\n"
