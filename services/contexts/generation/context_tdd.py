"""TDD test cases, related files and success criteria of a context file, written for the
task's own function: its name, its route, its parameters and its dependencies."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from services.contexts.generation.context_sections import (
    checked_parameters,
    is_async,
    python_name,
    reads_rows,
)
from services.contexts.generation.planned_task import Parameter, PlannedTask
from services.contexts.generation.task_fields import snake_case

ASYNC_KINDS = ("endpoint", "service", "repository")
_ROUTE_PARAM = re.compile(r"\{(\w+)\}")


def _example(parameter: Parameter) -> str:
    kind, name = parameter.type.lower(), parameter.name.lower()
    if parameter.validation == "dependency" or "session" in kind:
        return name  # the test's fixture of the same name
    if "uuid" in kind or name.endswith("_id"):
        return '"00000000-0000-4000-8000-000000000001"'
    if "email" in name:
        return '"ada@example.com"'
    if "password" in name:
        return '"correct horse battery"'
    if kind in ("int", "integer"):
        return "10"
    if kind in ("float", "decimal"):
        return "1.5"
    if kind in ("bool", "boolean"):
        return "True"
    if kind in ("str", "string"):
        return f'"example {parameter.name}"'
    return "{}"  # a request schema: the smallest valid body is written with the test


def _invalid(parameter: Parameter) -> str:
    kind = parameter.type.lower()
    if kind in ("int", "integer"):
        return "0" if ">=1" in parameter.validation.replace(" ", "") else '"not a number"'
    if "uuid" in kind:
        return '"not-a-uuid"'
    return '""'


def _module_path(task: PlannedTask) -> str:
    path = PurePosixPath(task.implementation_file)
    return ".".join(path.with_suffix("").parts) if path.parts else python_name(task)


def _call(task: PlannedTask, overrides: dict[str, str] | None = None) -> str:
    values = {p.name: _example(p) for p in task.parameters}
    values.update(overrides or {})
    args = ", ".join(f"{name}={value}" for name, value in values.items())
    owner = task.function_name.rpartition(".")[0]
    target = python_name(task)
    if owner and task.kind == "repository":
        target = f"{owner}().{target}"
    return f"{'await ' if is_async(task) else ''}{target}({args})"


def _test(name: str, doc: str, body: list[str], fixtures: str, asynchronous: bool) -> list[str]:
    head = "async def" if asynchronous else "def"
    return [
        "```python",
        *(["@pytest.mark.asyncio"] if asynchronous else []),
        f"{head} {name}({fixtures}):",
        f'    """{doc}"""',
        *[f"    {line}" if line else "" for line in body],
        "```",
    ]


def _endpoint_cases(task: PlannedTask) -> list[tuple[str, list[str]]]:
    assert task.http is not None
    http, py = task.http, python_name(task)
    values = {p.name: _example(p).strip('"') for p in task.parameters}
    url = _ROUTE_PARAM.sub(lambda m: values.get(m.group(1), "1"), http.route)
    verb = http.method.lower()
    payload = ", json={}" if http.method in ("POST", "PUT", "PATCH") else ""
    success = next((c for c in http.status_codes if c < 300), 200)
    cases = [
        (
            f"Success path: {http.method} {http.route}",
            _test(
                f"test_{py}_success",
                f"{http.method} {http.route} answers {success} for the owner.",
                [
                    f'response = await client.{verb}("{url}"{payload}, headers=auth_headers)',
                    f"assert response.status_code == {success}",
                ],
                "client: AsyncClient, auth_headers: dict[str, str]",
                True,
            ),
        )
    ]
    if http.auth.lower() == "required":
        cases.append(
            (
                "Authentication required",
                _test(
                    f"test_{py}_requires_authentication",
                    "Without a token the answer is 401.",
                    [
                        f'response = await client.{verb}("{url}"{payload})',
                        "assert response.status_code == 401",
                    ],
                    "client: AsyncClient",
                    True,
                ),
            )
        )
    checked = [p for p in checked_parameters(task) if p.validation]
    if checked:
        bad = checked[0]
        where = "params" if http.method == "GET" else "json"
        request = f'"{url}", {where}={{"{bad.name}": {_invalid(bad)}}}, '
        if bad.name in _ROUTE_PARAM.findall(http.route):
            values_bad = {**values, bad.name: _invalid(bad).strip('"')}
            bad_url = _ROUTE_PARAM.sub(lambda m: values_bad.get(m.group(1), "1"), http.route)
            request = f'"{bad_url}"{payload}, '
        cases.append(
            (
                f"Validation error on {bad.name}",
                _test(
                    f"test_{py}_rejects_invalid_{bad.name}",
                    f"An invalid {bad.name} is a 400.",
                    [
                        f"response = await client.{verb}({request}headers=auth_headers)",
                        "assert response.status_code == 400",
                    ],
                    "client: AsyncClient, auth_headers: dict[str, str]",
                    True,
                ),
            )
        )
    if _ROUTE_PARAM.search(http.route):
        cases.append(
            (
                "Another user's resource",
                _test(
                    f"test_{py}_other_users_resource_is_404",
                    "Another user's resource looks missing.",
                    [
                        f'response = await client.{verb}("{url}"{payload}, '
                        "headers=other_user_headers)",
                        "assert response.status_code == 404",
                    ],
                    "client: AsyncClient, other_user_headers: dict[str, str]",
                    True,
                ),
            )
        )
    return cases


def _success_check(task: PlannedTask) -> str:
    kind = task.returns.type.lower()
    if kind in ("bool", "boolean"):
        return "assert result is True"
    if kind in ("none", ""):
        return "assert result is None"
    return "assert result is not None"


def _function_cases(task: PlannedTask) -> list[tuple[str, list[str]]]:
    py, asynchronous = python_name(task), is_async(task)
    uses_session = any(_example(p) == p.name.lower() for p in task.parameters)
    fixtures = "session: AsyncSession" if uses_session else ""
    cases = [
        (
            "Success path",
            _test(
                f"test_{py}_success",
                f"{task.function_name} returns {task.returns.type} for valid input.",
                [f"result = {_call(task)}", _success_check(task)],
                fixtures,
                asynchronous,
            ),
        )
    ]
    checked = [p for p in checked_parameters(task) if p.validation]
    if checked:
        bad = checked[0]
        error = "ValidationError"
        cases.append(
            (
                f"Invalid {bad.name}",
                _test(
                    f"test_{py}_rejects_invalid_{bad.name}",
                    f"An invalid {bad.name} raises {error}.",
                    [
                        f"with pytest.raises({error}):",
                        f"    {_call(task, {bad.name: _invalid(bad)})}",
                    ],
                    fixtures,
                    asynchronous,
                ),
            )
        )
    if task.kind == "repository" and not reads_rows(task):
        table = task.database[0].table if task.database else "the table"
        cases.append(
            (
                "Leaves the commit to the caller",
                _test(
                    f"test_{py}_does_not_commit",
                    "Rolling back the caller's transaction removes the new row.",
                    [
                        _call(task),
                        "await session.rollback()",
                        f'count = await session.scalar(text("SELECT count(*) FROM {table}"))',  # noqa: S608 (text of a test, not a query)
                        "assert count == 0",
                    ],
                    fixtures,
                    asynchronous,
                ),
            )
        )
    elif task.kind == "repository":
        cases.append(
            (
                "Owner scoping",
                _test(
                    f"test_{py}_ignores_other_users_rows",
                    "Rows of another user are never returned.",
                    [f"result = {_call(task, {'user_id': 'other_user_id'})}", "assert not result"],
                    ", ".join(filter(None, [fixtures, "other_user_id: UUID"])),
                    asynchronous,
                ),
            )
        )
    for dependency in task.depends_on[:1]:
        cases.append(
            (
                f"Failure of {dependency.function_name}",
                _test(
                    f"test_{py}_propagates_{_snake(dependency.function_name)}_failure",
                    f"When {dependency.function_name} fails, nothing is half-done.",
                    [
                        f"{'async def' if dependency.kind in ASYNC_KINDS else 'def'} "
                        "_fail(*args, **kwargs):",
                        f'    raise RuntimeError("{dependency.function_name} is down")',
                        "",
                        f'monkeypatch.setattr("{_module_path(task)}.'
                        f'{_patched(dependency.function_name)}", _fail)',
                        "with pytest.raises(RuntimeError):",
                        f"    {_call(task)}",
                    ],
                    ", ".join(filter(None, [fixtures, "monkeypatch: pytest.MonkeyPatch"])),
                    asynchronous,
                ),
            )
        )
    return cases


def _snake(name: str) -> str:
    return snake_case(name.rsplit(".", 1)[-1])


def _patched(function_name: str) -> str:
    """The name to patch in the module under test: ``Class.method`` or ``snake_name``."""
    return function_name if "." in function_name else snake_case(function_name)


def tdd_tests(task: PlannedTask) -> list[str]:
    cases = _endpoint_cases(task) if task.http else _function_cases(task)
    lines = ["## TDD Test Cases", "", f"Write these in `{task.test_file}` before the code.", ""]
    owner = task.function_name.rpartition(".")[0]
    imported = owner if owner and task.kind == "repository" else python_name(task)
    lines += ["```python", "import pytest", "", f"from {_module_path(task)} import {imported}"]
    lines += ["```", ""]
    for number, (title, code) in enumerate(cases, start=1):
        lines += [f"### Test Case {number}: {title}", *code, ""]
    return lines
