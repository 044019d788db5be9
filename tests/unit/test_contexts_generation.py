"""The template generator and verification, on every task of both example projects (examples/)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import msgspec
import pytest

from services.contexts.generation.context_template import SECTIONS
from services.contexts.generation.documents import attach_excerpts
from services.contexts.generation.generators import TemplateGenerator
from services.contexts.generation.planned_task import PlannedTask
from services.contexts.generation.registry import parse_registry
from services.contexts.generation.verification import verify_context
from tests.support.samples import SAMPLES


def planned(name: str) -> list[PlannedTask]:
    root = SAMPLES / name
    raw = json.loads((root / ".claude_tasks" / "task_registry.json").read_text())
    documents = {f"docs/{p.name}": p.read_text() for p in (root / "docs").iterdir()}
    tasks = parse_registry(raw).plan(documents, regenerate=True).tasks
    # As the worker sees them: the spec as stored, the excerpt texts attached from the
    # job's documents.
    stored = msgspec.json.decode(msgspec.json.encode(tasks), type=list[PlannedTask])
    return [attach_excerpts(task, documents) for task in stored]


ALL_TASKS = [task for name in ("flat", "tree") for task in planned(name)]


def render(task: PlannedTask) -> str:
    return asyncio.run(TemplateGenerator().generate(task))


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {task.task_id: render(task) for task in ALL_TASKS}


@pytest.mark.parametrize("task", ALL_TASKS, ids=lambda task: task.task_id)
def test_every_generated_context_passes_verification(
    task: PlannedTask, rendered: dict[str, str]
) -> None:
    assert verify_context(rendered[task.task_id], task) == []


@pytest.mark.parametrize("task", ALL_TASKS, ids=lambda task: task.task_id)
def test_every_context_is_about_its_own_task(task: PlannedTask, rendered: dict[str, str]) -> None:
    markdown = rendered[task.task_id]
    assert markdown.startswith(f"# Task {task.task_id}: {task.function_name}\n")
    assert f"**Type**: {task.kind.capitalize()}" in markdown
    assert task.implementation_file in markdown and task.test_file in markdown
    for parameter in task.parameters:
        assert f"| {parameter.name} | {parameter.type} |" in markdown
    for dependency in task.depends_on:
        assert f"| {dependency.task_id} | {dependency.function_name} |" in markdown
    for dependent in task.depended_by:
        assert f"- {dependent.task_id}: `{dependent.function_name}`" in markdown
    for frontend in task.frontend_dependents:
        assert f"| {frontend.task_id} |" in markdown
    for excerpt in task.excerpts:
        assert excerpt.text.splitlines()[1] in markdown  # the quoted requirement
    for ref in task.missing_refs:
        assert f"TODO: Update context after specification is added (missing: `{ref}`)" in markdown
    tables = {access.table for access in task.database}
    for table in tables:
        assert re.search(
            rf"^(SELECT .* FROM|INSERT INTO|UPDATE|DELETE FROM) {table}\b", markdown, re.M
        )
    # never the template's example tables unless the task names them
    for example in ("audit_logs", "sessions", "users"):
        if example not in tables:
            assert f"`{example}`" not in markdown and f"FROM {example}" not in markdown
    http = task.http
    if http is not None:
        assert f"- **Route**: `{http.route}`" in markdown
        for code in http.status_codes:
            assert f"- `{code} " in markdown
        assert f"async def test_{markdown_name(markdown)}_success" in markdown
    else:
        assert "Not an endpoint" in markdown


def markdown_name(markdown: str) -> str:
    match = re.search(r"^(?:async )?def (\w+)\(", markdown, re.MULTILINE)
    assert match
    return match.group(1)


def test_a_repository_context_has_its_sql_and_indexes(rendered: dict[str, str]) -> None:
    markdown = rendered["backend_task_123"]  # TodoRepository.list_for_user: SELECT on todos
    assert "SELECT * FROM todos WHERE user_id = :user_id AND deleted_at IS NULL;" in markdown
    assert "`todos (user_id)`" in markdown
    assert "test_list_for_user_ignores_other_users_rows" in markdown


# -- verification -----------------------------------------------------------------------------


def some_task() -> tuple[PlannedTask, str]:
    task = next(t for t in ALL_TASKS if t.task_id == "backend_task_110")  # GET /todos/{todo_id}
    return task, render(task)


def test_verification_names_a_missing_section() -> None:
    task, markdown = some_task()
    broken = markdown.replace("## Security Considerations\n", "").replace("### Queries\n", "")
    assert verify_context(broken, task) == ["missing sections: Queries, Security Considerations"]


@pytest.mark.parametrize("placeholder", ["{Brief description}", "{function_name}", "[TBD]"])
def test_verification_finds_a_leftover_placeholder(placeholder: str) -> None:
    task, markdown = some_task()
    broken = markdown.replace("**Purpose**: ", f"**Purpose**: {placeholder} ")
    assert verify_context(broken, task) == [f"template placeholders left: {placeholder}"]


def test_route_parameters_of_the_task_are_not_placeholders() -> None:
    task, markdown = some_task()
    assert "{todo_id}" in markdown
    assert verify_context(markdown, task) == []


def test_verification_catches_another_tasks_id_and_name() -> None:
    task, markdown = some_task()
    other = markdown.replace("# Task backend_task_110: getTodo", "# Task backend_task_111: x")
    assert verify_context(other, task) == [
        "the title 'Task backend_task_111: x' does not name task backend_task_110"
    ]
    renamed = markdown.replace("getTodo", "fetchThing")
    assert verify_context(renamed, task) == ["the function name 'getTodo' does not appear"]


@pytest.mark.parametrize(
    "heading",
    [
        "## Security Considerations",  # as generated
        "#### 7. **Security Considerations:** ##",  # level, numbering, emphasis, closing #s
        "##\tSecurity Considerations (for endpoints)\t",
    ],
)
def test_a_section_heading_counts_in_any_markdown_form(heading: str) -> None:
    task, markdown = some_task()
    assert verify_context(markdown.replace("## Security Considerations", heading), task) == []


@pytest.mark.parametrize(
    "heading",
    ["####### Security Considerations", "##Security Considerations", "Security Considerations"],
)
def test_a_line_that_is_not_a_heading_does_not_count(heading: str) -> None:
    task, markdown = some_task()
    broken = markdown.replace("## Security Considerations", heading)
    assert verify_context(broken, task) == ["missing sections: Security Considerations"]


@pytest.mark.parametrize(
    ("title", "names_it"),
    [
        ("# backend_task_110", True),
        ("# Task backend_task_110.", True),  # a full stop ends the sentence
        ("# Task backend_task_1100: getTodo", False),  # a longer id
        ("# Task xbackend_task_110: getTodo", False),
        ("# Task backend_task_110.md: getTodo", False),  # a file name, not the id
        ("# Task app.backend_task_110: getTodo", False),  # a dotted name
    ],
)
def test_the_title_must_name_the_task_as_a_whole_word(title: str, names_it: bool) -> None:
    task, markdown = some_task()
    retitled = markdown.replace("# Task backend_task_110: getTodo", title)
    assert (verify_context(retitled, task) == []) is names_it


def test_verification_wants_the_todo_line_for_a_missing_spec() -> None:
    task = next(t for t in ALL_TASKS if t.missing_refs)
    markdown = render(task)
    assert verify_context(markdown.replace("TODO:", "Note:"), task) == [
        "no TODO line for the missing specification"
    ]


def test_the_bare_template_itself_is_not_a_valid_context() -> None:
    task, _ = some_task()
    seed = "\n".join(
        ["# Task {task_id}: {FunctionName}", "**Purpose**: {Brief description}"]
        + [f"{'#' * level} {title}" for level, title in SECTIONS]
        + ["{list of task IDs this function depends on}"]
    )
    problems = verify_context(seed, task)
    assert any(p.startswith("the title") for p in problems)
    assert any("{Brief description}" in p and "{task_id}" in p for p in problems)


def test_an_empty_answer_is_invalid() -> None:
    task, _ = some_task()
    assert verify_context("  \n", task) == ["the context is empty"]


# -- speed (a micro-check, not a timed test) ---------------------------------------------------


def test_template_generator_renders_ten_thousand_tasks() -> None:
    tasks = [
        msgspec.structs.replace(base, task_id=f"{base.task_id}_{i}")
        for i, base in zip(range(10_000), ALL_TASKS * 300, strict=False)
    ]
    generator = TemplateGenerator()

    async def render() -> list[str]:
        return [await generator.generate(task) for task in tasks]

    started = time.perf_counter()
    documents = asyncio.run(render())
    elapsed = time.perf_counter() - started
    print(f"TemplateGenerator: 10,000 contexts in {elapsed:.2f}s ({10_000 / elapsed:,.0f}/s)")
    assert len(documents) == 10_000
    assert all(
        doc.startswith(f"# Task {t.task_id}:") for doc, t in zip(documents, tasks, strict=True)
    )
