"""The context file: the context template, filled with what is specific to one task.

``SECTIONS`` lists every heading of the template ("Function Overview" through
"Tasks Depending on This") plus the document excerpts; verification checks them all.
``render_context`` is the deterministic, offline renderer (it runs for 10,000 tasks in a
benchmark, so it is plain string building). The overview and the specification are
written here; the later sections live in ``context_sections`` (logic, database,
dependencies), ``context_practices`` (errors, security, performance), ``context_tdd``
(test cases) and ``context_closing`` (files, criteria, links, excerpts).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus

from services.contexts.generation.context_closing import (
    excerpts,
    related_files,
    success_criteria,
    task_links,
)
from services.contexts.generation.context_practices import error_handling, performance, security
from services.contexts.generation.context_sections import (
    business_logic,
    database,
    dependencies,
    is_async,
    python_name,
    raised_errors,
    reads_rows,
    status_meaning,
    validation_text,
)
from services.contexts.generation.context_tdd import tdd_tests
from services.contexts.generation.planned_task import LAYER_TITLES, PlannedTask

# (heading level, title) in the template's order.
SECTIONS: tuple[tuple[int, str], ...] = (
    (2, "Function Overview"),
    (2, "Function Specification"),
    (3, "Function Signature"),
    (3, "Input Parameters"),
    (3, "Return Value"),
    (3, "HTTP Details"),
    (2, "Business Logic"),
    (3, "Algorithm Steps"),
    (3, "Edge Cases"),
    (2, "Database Operations"),
    (3, "Tables Accessed"),
    (3, "Queries"),
    (3, "Transaction Scope"),
    (3, "Indexes Required"),
    (2, "Dependencies"),
    (3, "Backend Dependencies"),
    (3, "Frontend Dependencies"),
    (2, "Error Handling"),
    (2, "Security Considerations"),
    (3, "Authentication"),
    (3, "Authorization"),
    (3, "Input Sanitization"),
    (3, "Data Protection"),
    (3, "Rate Limiting"),
    (2, "Performance Considerations"),
    (3, "Expected Performance"),
    (3, "Optimization Strategies"),
    (3, "Monitoring"),
    (2, "TDD Test Cases"),
    (2, "Related Files"),
    (3, "Implementation"),
    (3, "Testing"),
    (3, "Documentation"),
    (2, "Success Criteria"),
    (3, "Functional Requirements"),
    (3, "Quality Requirements"),
    (3, "Performance Requirements"),
    (2, "Dependencies on Other Tasks"),
    (2, "Tasks Depending on This"),
    (2, "Specification Excerpts"),
)


def _json(value: object, indent: int = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False)


def title_line(task: PlannedTask) -> str:
    return f"# Task {task.task_id}: {task.function_name}"


def todo_lines(task: PlannedTask) -> list[str]:
    """One ``TODO:`` line per reference that matched no document section."""
    return [
        f"TODO: Update context after specification is added (missing: `{ref}`)"
        for ref in task.missing_refs
    ]


def render_context(task: PlannedTask) -> str:
    parts = [title_line(task), ""]
    parts += _overview(task)
    parts += _specification(task)
    parts += business_logic(task)
    parts += database(task)
    parts += dependencies(task)
    parts += error_handling(task)
    parts += security(task)
    parts += performance(task)
    parts += tdd_tests(task)
    parts += related_files(task)
    parts += success_criteria(task)
    parts += task_links(task)
    parts += excerpts(task, todo_lines(task))
    return "\n".join(parts).rstrip() + "\n"


def _overview(task: PlannedTask) -> list[str]:
    lines = [
        "## Function Overview",
        f"**Type**: {task.kind.capitalize()}",
        f"**Layer**: {LAYER_TITLES[task.kind]} (`{task.layer}`)",
        f"**Purpose**: {task.description or task.title}",
        f"**Module**: {task.module or 'not stated in the registry'}",
        f"**Registry task**: {task.title}",
    ]
    if task.http:
        lines.append(f"**Route**: `{task.http.method} {task.http.route}`")
    todos = todo_lines(task)
    if todos:
        lines += ["", *todos]
    return [*lines, ""]


def _signature(task: PlannedTask) -> list[str]:
    head = "async def" if is_async(task) else "def"
    params = [
        f"    {p.name}: {p.type}{'' if p.required else ' | None = None'}," for p in task.parameters
    ]
    if task.kind == "repository" and "." in task.function_name:
        params.insert(0, "    self,")
    if task.http and task.http.auth.lower() == "required":
        params.append("    current_user: AuthenticatedUser,")
    doc = [f'    """{task.description or task.title}.', ""]
    if task.parameters:
        doc.append("    Args:")
        doc += [f"        {p.name}: {p.description or p.type}" for p in task.parameters]
        doc.append("")
    doc += [
        "    Returns:",
        f"        {task.returns.type}: {task.returns.description or 'the result'}",
        "",
    ]
    doc += ["    Raises:", *[f"        {name}: {why}" for name, why in raised_errors(task)]]
    doc.append('    """')
    lines = ["### Function Signature"]
    if task.signature:
        lines += [f"Declared in the registry: `{task.signature}`", ""]
    return [
        *lines,
        "```python",
        f"{head} {python_name(task)}(",
        *params,
        f") -> {task.returns.type}:",
        *doc,
        "```",
        "",
    ]


def _parameters(task: PlannedTask) -> list[str]:
    lines = ["### Input Parameters"]
    if not task.parameters and not task.http:
        return [*lines, f"`{task.function_name}` takes no parameters.", ""]
    lines += [
        "| Parameter | Type | Required | Description | Validation |",
        "|-----------|------|----------|-------------|------------|",
    ]
    for p in task.parameters:
        lines.append(
            f"| {p.name} | {p.type} | {'Yes' if p.required else 'No'} | "
            f"{p.description or '—'} | {validation_text(p)} |"
        )
    if task.http and task.http.auth.lower() == "required":
        lines.append(
            "| current_user | AuthenticatedUser | Yes | The caller, from the access token "
            "| Auth required |"
        )
    return [*lines, ""]


def _return_value(task: PlannedTask) -> list[str]:
    returns = task.returns
    lines = ["### Return Value", f"`{returns.type}` — {returns.description or 'the result'}."]
    if task.http:
        success = next((c for c in task.http.status_codes if 200 <= c < 300), 200)
        body = task.http.response_body if task.http.response_body else {"data": returns.type}
        lines += ["", f"On success the endpoint answers `{success} {_reason(success)}` with:"]
        if success == 204:
            lines += ["", "No body."]
        else:
            lines += ["```json", _json(body, indent=2), "```"]
        lines += ["", "On failure it answers the error envelope:", "```json"]
        lines += [_json({"error": {"code": "VALIDATION_ERROR", "message": "…"}}, indent=2)]
        lines.append("```")
    elif task.kind == "validator":
        lines.append(
            "Returns when the value is valid; invalid input raises `ValidationError` "
            "naming the field and the broken rule."
        )
    elif task.kind == "repository" and not reads_rows(task):
        lines.append("Returns the new row as stored (defaults filled in); it never commits.")
    elif task.kind == "repository":
        lines.append(
            "Returns the persisted row(s) or `None` when no row of the caller matches; "
            "it never commits."
        )
    return [*lines, ""]


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Status"


def _http(task: PlannedTask) -> list[str]:
    lines = ["### HTTP Details"]
    http = task.http
    if http is None:
        callers = [link.function_name for link in task.depended_by if link.kind == "endpoint"]
        reach = f" It is reached through {', '.join(f'`{c}`' for c in callers)}." if callers else ""
        return [
            *lines,
            f"Not an endpoint: `{task.function_name}` is a {task.kind} called in-process, "
            f"with no route of its own.{reach}",
            "",
        ]
    lines += [
        f"- **Method**: {http.method}",
        f"- **Route**: `{http.route}`",
        "- **Content-Type**: `application/json`",
        f"- **Authentication**: {http.auth.capitalize()}",
        "- **Authorization**: "
        + ("the caller acts on their own data only" if http.auth.lower() == "required" else "none"),
        "",
        "**Status Codes**:",
    ]
    codes = list(dict.fromkeys([*http.status_codes, 503]))
    lines += [f"- `{code} {_reason(code)}`: {status_meaning(task, code)}" for code in codes]
    if http.method in ("POST", "PUT", "PATCH"):
        request = http.request_body or {
            p.name: p.type for p in task.parameters if p.name not in _path_names(http.route)
        }
        lines += ["", "**Request Body**:", "```json", _json(request, indent=2), "```"]
    else:
        lines += [
            "",
            f"**Request Body**: none; `{http.method}` takes its input from the path "
            "and query string.",
        ]
    response = http.response_body or {"data": task.returns.type}
    lines += ["", "**Response Body**:", "```json", _json(response, indent=2), "```", ""]
    return lines


def _path_names(route: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", route))


def _specification(task: PlannedTask) -> list[str]:
    return [
        "## Function Specification",
        "",
        *_signature(task),
        *_parameters(task),
        *_return_value(task),
        *_http(task),
    ]
