"""The middle sections of a context file — business logic, database operations and the
dependency tables — each written from the task's kind, fields and links; plus the small
helpers the other section modules share (the function's Python name, its checked inputs)."""

from __future__ import annotations

import re

from services.contexts.generation.planned_task import Parameter, PlannedTask, TaskLink
from services.contexts.generation.task_fields import snake_case

_DEF_NAME = re.compile(r"def\s+(\w+)")

STATUS_MEANINGS = {
    200: "success, the result in the body",
    201: "created, the new resource in the body",
    202: "accepted for processing",
    204: "done, no body",
    400: "validation error: the body names the field",
    401: "missing or invalid access token",
    403: "authenticated but not allowed",
    404: "not found, or owned by another user (never revealed)",
    409: "conflicts with an existing resource",
    412: "the resource changed meanwhile (stale version)",
    422: "well-formed but semantically invalid input",
    429: "too many requests; retry after the `Retry-After` seconds",
    503: "a dependency (database) is unavailable; safe to retry",
}


def python_name(task: PlannedTask) -> str:
    match = _DEF_NAME.search(task.signature)
    return match.group(1) if match else snake_case(task.function_name.rsplit(".", 1)[-1])


def is_async(task: PlannedTask) -> bool:
    if task.signature:
        return task.signature.lstrip().startswith("async ")
    return task.kind in ("endpoint", "service", "repository")


def status_meaning(task: PlannedTask, code: int) -> str:
    return STATUS_MEANINGS.get(code, f"returned by `{task.function_name}`")


def validation_text(parameter: Parameter) -> str:
    rule = parameter.validation
    if not rule:
        return "type check only"
    if rule == "schema":
        return f"decoded and validated against `{parameter.type}`"
    if rule == "dependency":
        return "dependency injection"
    return rule


def raised_errors(task: PlannedTask) -> list[tuple[str, str]]:
    errors = []
    inputs = checked_parameters(task)
    if inputs:
        names = ", ".join(p.name for p in inputs)
        verb = "breaks its rules" if len(inputs) == 1 else "break their rules"
        errors.append(("ValidationError", f"when {names} {verb}"))
    if task.kind in ("endpoint", "service") and _owned(task):
        errors.append(
            ("NotFoundError", "when the target does not exist or belongs to another user")
        )
    if task.http and task.http.auth.lower() == "required":
        errors.append(("AuthenticationError", "when the access token is missing or invalid"))
    if task.kind in ("endpoint", "service", "repository"):
        errors.append(("DatabaseError", "when the database is unreachable"))
    return errors or [("ValueError", "when the input cannot be processed")]


def checked_parameters(task: PlannedTask) -> list[Parameter]:
    """The parameters a caller supplies (injected dependencies such as the session are not)."""
    return [p for p in task.parameters if p.validation != "dependency"]


def reads_rows(task: PlannedTask) -> bool:
    """Whether the repository finds existing rows (anything but a pure INSERT)."""
    operations = {op.upper() for access in task.database for op in access.operations}
    return not operations or bool(operations - {"INSERT"})


def _owned(task: PlannedTask) -> bool:
    return bool(task.http and "{" in task.http.route) or any(
        p.name.endswith("_id") for p in task.parameters
    )


def _names(links: list[TaskLink], kind: str | None = None) -> list[str]:
    return [f"`{link.function_name}`" for link in links if kind is None or link.kind == kind]


def _rules(task: PlannedTask) -> list[str]:
    """The bullet rules of the task's document excerpts (the requirements it implements)."""
    rules = []
    for excerpt in task.excerpts:
        for line in excerpt.text.splitlines():
            if line.lstrip().startswith(("- ", "* ")):
                rules.append(line.strip()[2:].strip())
    return rules


# -- Business Logic ---------------------------------------------------------------------------


def business_logic(task: PlannedTask) -> list[str]:
    steps = _steps(task)
    lines = ["## Business Logic", "", "### Algorithm Steps"]
    for number, (title, details) in enumerate(steps, start=1):
        lines.append(f"{number}. **{title}**")
        lines += [f"   - {detail}" for detail in details]
    rules = _rules(task)
    if rules:
        lines += ["", "Requirements from the specification that this function enforces:"]
        lines += [f"- {rule}" for rule in rules]
    lines += ["", "### Edge Cases", *[f"- {case}" for case in _edge_cases(task)], ""]
    return lines


def _steps(task: PlannedTask) -> list[tuple[str, list[str]]]:
    checks = [f"`{p.name}`: {validation_text(p)}" for p in task.parameters] or ["no input"]
    deps = _names(task.depends_on)
    use = [f"Call {name}" for name in deps] or ["No other backend function is needed"]
    name = f"`{task.function_name}`"
    if task.kind == "endpoint":
        route = f"`{task.http.method} {task.http.route}`" if task.http else name
        success = next((c for c in (task.http.status_codes if task.http else []) if c < 300), 200)
        return [
            ("Parse and validate the request", checks),
            (
                "Authenticate and authorize",
                [
                    f"Authentication is {task.http.auth if task.http else 'required'} for {route}",
                    "Resolve the caller from the token; act only on the caller's own data",
                ],
            ),
            ("Delegate to the business logic", use),
            (
                "Answer",
                [
                    f"Serialize `{task.returns.type}` with status {success}",
                    "Map domain errors to the status codes listed above",
                ],
            ),
        ]
    if task.kind == "service":
        repositories = _names(task.depends_on, "repository") or ["its repositories"]
        return [
            ("Validate the input", checks),
            ("Load the current state", [f"Through {', '.join(repositories)}, for the caller only"]),
            ("Apply the business rules", [*use, "Enforce the requirements listed below"]),
            ("Persist in one transaction", ["Commit all changes together or none"]),
            (
                "Return the result",
                [f"`{task.returns.type}`: {task.returns.description or 'result'}"],
            ),
        ]
    if task.kind == "repository":
        tables = ", ".join(
            f"`{t.table}` ({'/'.join(t.operations) or 'access'})" for t in task.database
        )
        return [
            ("Take the caller's session", ["Never open or commit a transaction here"]),
            ("Build a parameterized statement", [f"On {tables or 'its table'}", *checks]),
            (
                "Scope to the owner",
                ["Filter by `user_id`; exclude soft-deleted rows"]
                if reads_rows(task)
                else ["Set `user_id` from the caller, never from the input"],
            ),
            ("Execute and map", [f"Return `{task.returns.type}`"]),
        ]
    if task.kind == "validator":
        return [
            ("Normalize the value", ["Strip surrounding whitespace; keep the original for errors"]),
            ("Check every rule", [*checks, "Including the requirements listed below"]),
            ("Report", [f"Return `{task.returns.type}`; raise `ValidationError` naming the field"]),
        ]
    return [
        ("Check the arguments", checks),
        ("Compute the result", [f"{name} is pure: no I/O, no global state", *use]),
        ("Return", [f"`{task.returns.type}`: {task.returns.description or 'result'}"]),
    ]


def _edge_cases(task: PlannedTask) -> list[str]:
    cases = [
        f"**Missing `{p.name}`**: rejected with a validation error"
        for p in task.parameters
        if p.required and p.validation != "dependency"
    ]
    cases += [
        f"**`{p.name}` breaks `{p.validation}`**: validation error naming `{p.name}`"
        for p in task.parameters
        if p.validation not in ("", "schema", "dependency", "non-empty")
    ]
    if task.kind in ("endpoint", "service") and _owned(task):
        cases.append("**Another user's resource**: behaves exactly like a missing one (404)")
    if task.kind == "repository" and reads_rows(task):
        cases.append("**No matching row**: returns `None` (or an empty list), never raises")
        cases.append("**Soft-deleted row**: invisible, like a missing one")
    elif task.kind == "repository":
        cases.append("**Duplicate key**: the unique violation surfaces as a conflict error")
        cases.append("**Caller rolls back**: the new row disappears with the transaction")
    if task.kind in ("endpoint", "service", "repository"):
        cases.append("**Database unavailable**: fails fast; the API answers 503")
    if task.kind in ("validator", "util"):
        cases.append("**Empty or whitespace-only input**: handled explicitly, never crashes")
    return cases


# -- Database Operations -----------------------------------------------------------------------

_SQL = {
    "SELECT": "SELECT * FROM {t} WHERE user_id = :user_id AND deleted_at IS NULL;",
    "INSERT": "INSERT INTO {t} (user_id, created_at) VALUES (:user_id, now()) RETURNING *;",
    "UPDATE": "UPDATE {t} SET updated_at = now() WHERE id = :id AND user_id = :user_id"
    " RETURNING *;",
    "DELETE": "DELETE FROM {t} WHERE id = :id AND user_id = :user_id;",
}


def database(task: PlannedTask) -> list[str]:
    lines = ["## Database Operations", "", "### Tables Accessed"]
    repositories = _names(task.depends_on, "repository")
    if task.database:
        lines += [f"- `{t.table}`: {', '.join(t.operations) or 'access'}" for t in task.database]
    elif repositories:
        lines.append(
            f"None directly: `{task.function_name}` goes through {', '.join(repositories)}."
        )
    else:
        lines.append(f"None: `{task.function_name}` does not touch the database.")
    lines += ["", "### Queries"]
    if task.database:
        lines.append("```sql")
        for access in task.database:
            for operation in access.operations or ["SELECT"]:
                template = _SQL.get(operation.upper(), "-- " + operation + " on {t}")
                lines += [
                    f"-- {task.function_name}: {operation} on {access.table}",
                    template.replace("{t}", access.table),
                ]
        lines.append("```")
    else:
        lines.append("No SQL of its own.")
    lines += ["", "### Transaction Scope"]
    if task.kind == "repository":
        lines.append(
            "Runs inside the caller's transaction (`async with session.begin()` in the "
            "service); it never commits or rolls back itself."
        )
    elif repositories:
        lines += ["```python", "async with session.begin():"]
        lines += [f"    # {name} runs here; all writes commit together" for name in repositories]
        lines.append("```")
    else:
        lines.append("No transaction of its own.")
    lines += ["", "### Indexes Required"]
    if task.database:
        lines += [f"- `{t.table} (user_id)`: every query filters by owner" for t in task.database]
        lines += [f"- `{t.table} (id)` primary key: single-row lookups" for t in task.database]
    else:
        lines.append("None beyond those of the repositories it uses.")
    return [*lines, ""]


# -- Dependencies ------------------------------------------------------------------------------


def dependencies(task: PlannedTask) -> list[str]:
    lines = ["## Dependencies", "", "### Backend Dependencies"]
    if task.depends_on:
        lines += [
            "| Task ID | Function | What It Provides |",
            "|---------|----------|------------------|",
        ]
        lines += [
            f"| {d.task_id} | {d.function_name} | {d.summary or d.kind} |" for d in task.depends_on
        ]
    else:
        lines.append(f"None: `{task.function_name}` depends on no other backend task.")
    lines += ["", "### Frontend Dependencies"]
    if task.frontend_dependents:
        lines += [
            "| Task ID | Component | How It Uses This |",
            "|---------|-----------|------------------|",
        ]
        lines += [
            f"| {f.task_id} | {f.component or '—'} | {f.usage or 'Calls it'} |"
            for f in task.frontend_dependents
        ]
    else:
        lines.append("None: no frontend component depends on it directly.")
    return [*lines, ""]
