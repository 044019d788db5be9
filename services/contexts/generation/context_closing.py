"""The closing sections of a context file: related files, success criteria, the task's
links both ways and the excerpts of the project documents."""

from __future__ import annotations

from services.contexts.generation.context_sections import checked_parameters
from services.contexts.generation.planned_task import LAYER_FOLDERS, PlannedTask

_BUDGET_LINE = {
    "endpoint": "Response time under 200 ms (p95)",
    "service": "Under 150 ms (p95) including its repository calls",
    "repository": "Each query under 50 ms (p95), using an index",
    "validator": "Under 1 ms per call",
    "util": "Under 1 ms per call",
}


def related_files(task: PlannedTask) -> list[str]:
    module = task.module or "core"
    lines = [
        "## Related Files",
        "",
        "### Implementation",
        f"- **Target file**: `{task.implementation_file}`",
        f"- **Models**: `src/models/{module}.py`",
        f"- **Schemas**: `src/schemas/{module}.py`",
        "",
        "### Testing",
        f"- **Test file**: `{task.test_file}`",
        f"- **Fixtures**: `tests/fixtures/{module}_fixtures.py`",
        "",
        "### Documentation",
    ]
    lines += [f"- **Specification**: `{ref}`" for ref in task.spec_refs]
    if task.http:
        lines.append(
            f"- **OpenAPI**: `{task.http.method} {task.http.route}`, generated from its types"
        )
    if not task.spec_refs and not task.http:
        lines.append("- **API docs**: generated from the docstring")
    lines += ["", "### Dependencies"]
    for kind, folder in LAYER_FOLDERS.items():
        files = [
            d.implementation_file
            for d in task.depends_on
            if d.kind == kind and d.implementation_file
        ]
        if files:
            lines.append(f"- **{folder.capitalize()}**: {', '.join(f'`{f}`' for f in files)}")
    if not any(d.implementation_file for d in task.depends_on):
        lines.append("- None: it uses no other backend function's file")
    return [*lines, ""]


def success_criteria(task: PlannedTask) -> list[str]:
    lines = ["## Success Criteria", "", "### Functional Requirements"]
    if checked_parameters(task):
        names = ", ".join(f"`{p.name}`" for p in checked_parameters(task))
        lines.append(f"- ✅ Validates {names}")
    if task.http:
        codes = ", ".join(str(c) for c in task.http.status_codes) or "its status codes"
        lines.append(f"- ✅ `{task.http.method} {task.http.route}` answers {codes} as specified")
    for access in task.database:
        lines.append(
            f"- ✅ {'/'.join(access.operations) or 'Access'} on `{access.table}` "
            "scoped to the owner"
        )
    if task.depends_on:
        lines.append("- ✅ Uses " + ", ".join(f"`{d.function_name}`" for d in task.depends_on))
    lines += [
        "- ✅ Every error case above raises or answers as described",
        "",
        "### Quality Requirements",
        f"- ✅ All test cases above pass; coverage of `{task.implementation_file}` ≥80%",
        "- ✅ No type errors; passes linting",
        "",
        "### Performance Requirements",
        f"- ✅ {_BUDGET_LINE[task.kind]}",
        "",
    ]
    return lines


def task_links(task: PlannedTask) -> list[str]:
    lines = ["## Dependencies on Other Tasks"]
    if task.depends_on:
        lines += [f"- {d.task_id}: `{d.function_name}` ({d.kind})" for d in task.depends_on]
    else:
        lines.append("None.")
    lines += ["", "## Tasks Depending on This"]
    lines += [f"- {d.task_id}: `{d.function_name}` ({d.kind})" for d in task.depended_by]
    lines += [
        f"- {f.task_id}: {f.component or 'frontend component'} (frontend; {f.usage or 'calls it'})"
        for f in task.frontend_dependents
    ]
    if not task.depended_by and not task.frontend_dependents:
        lines.append(f"None: no task depends on `{task.function_name}` yet.")
    return [*lines, ""]


def excerpts(task: PlannedTask, todos: list[str]) -> list[str]:
    lines = ["## Specification Excerpts"]
    for excerpt in task.excerpts:
        lines += ["", f"### From `{excerpt.source}`"]
        lines += [f"> {line}".rstrip() for line in excerpt.text.splitlines()]
    if todos:
        lines += ["", *todos]
    if not task.excerpts and not todos:
        lines += [
            "",
            f"No project document mentions `{task.function_name}`"
            + (f" or the `{task.module}` module." if task.module else "."),
        ]
    return [*lines, ""]
