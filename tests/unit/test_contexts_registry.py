"""Registry parsing, planning and the status write-back, on both example projects (examples/)."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest

from services.contexts.generation.documents import attach_excerpts
from services.contexts.generation.registry import (
    PlannedTask,
    Registry,
    RegistryProblem,
    parse_registry,
    updated_registry,
)
from tests.support.samples import SAMPLES


def sample(name: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    root = SAMPLES / name
    registry_text = (root / ".claude_tasks" / "task_registry.json").read_text()
    documents = {f"docs/{p.name}": p.read_text() for p in sorted((root / "docs").iterdir())}
    expected = json.loads((root / "expected.json").read_text())
    return registry_text, documents, expected


@pytest.mark.parametrize("name", ["flat", "tree"])
def test_plan_reports_what_expected_json_says(name: str) -> None:
    registry_text, documents, expected = sample(name)
    registry = parse_registry(json.loads(registry_text))
    plan = registry.plan(documents, regenerate=False)

    assert registry.shape == expected["format"]
    assert len(plan.tasks) == expected["needs_context"]
    assert plan.sub_batches == expected["sub_batches"]
    assert plan.by_kind == expected["by_kind"]
    assert sorted(plan.skipped) == sorted(expected["already_context_ready"])
    assert plan.missing_spec == expected["missing_spec"]
    assert set(expected["not_qualifying"]) <= set(plan.not_qualifying)
    planned_ids = {task.task_id for task in plan.tasks}
    assert not planned_ids & set(plan.skipped)
    # one warning per missing reference, naming the task and the expected section
    assert len(plan.warnings) == len(expected["missing_spec"])
    for task_id, warning in zip(expected["missing_spec"], plan.warnings, strict=True):
        assert warning.startswith(f"Warning: {task_id} references missing API specification")
        assert "Expected: docs/prd.md section on offline-sync" in warning


def test_flat_not_qualifying_is_exactly_the_other_tasks() -> None:
    registry_text, documents, expected = sample("flat")
    plan = parse_registry(json.loads(registry_text)).plan(documents, regenerate=False)
    assert sorted(plan.not_qualifying) == sorted(expected["not_qualifying"])


def test_tree_names_every_task_that_does_not_qualify_by_its_tree() -> None:
    registry_text, documents, _ = sample("tree")
    plan = parse_registry(json.loads(registry_text)).plan(documents, regenerate=False)
    # backend 1.1.1 is generated while frontend 1.1.1 (same dot id) is not
    assert "1.1.1" in {task.task_id for task in plan.tasks}
    assert "frontend:1.1.1" in plan.not_qualifying
    assert {"backend:1", "backend:6.1", "frontend:1", "frontend:1.1"} <= set(plan.not_qualifying)
    assert all(item.split(":")[0] in ("backend", "frontend") for item in plan.not_qualifying)


@pytest.mark.parametrize("name", ["flat", "tree"])
def test_regenerate_also_takes_context_ready_tasks_in_registry_order(name: str) -> None:
    registry_text, documents, expected = sample(name)
    plan = parse_registry(json.loads(registry_text)).plan(documents, regenerate=True)
    assert plan.skipped == []
    total = expected["needs_context"] + len(expected["already_context_ready"])
    assert len(plan.tasks) == total
    assert set(expected["already_context_ready"]) <= {task.task_id for task in plan.tasks}


def test_flat_task_carries_its_fields_links_and_excerpts() -> None:
    registry_text, documents, _ = sample("flat")
    plan = parse_registry(json.loads(registry_text)).plan(documents, regenerate=False)
    tasks = {task.task_id: task for task in plan.tasks}

    get_todo = tasks["backend_task_110"]
    assert get_todo.function_name == "getTodo" and get_todo.kind == "endpoint"
    assert get_todo.context_file == ".claude_tasks/contexts/backend_task_110_context.md"
    assert get_todo.http is not None and get_todo.http.route == "/api/v1/todos/{todo_id}"
    assert [d.task_id for d in get_todo.depends_on] == ["backend_task_111", "backend_task_116"]
    assert [f.task_id for f in get_todo.frontend_dependents] == ["frontend_task_055"]
    assert [e.source for e in get_todo.excerpts] == ["docs/prd.md#todo-management"]
    (excerpt,) = attach_excerpts(get_todo, documents).excerpts
    assert excerpt.text.startswith("## Todo Management")
    assert "## Tags" not in excerpt.text  # the section ends at the next heading

    # dependents: validateTagName is used by fetchTodo, rotateRefreshToken, dispatchToolCall
    tag_validator = tasks["backend_task_121"]
    assert {d.task_id for d in tag_validator.depended_by} == {
        "backend_task_107",
        "backend_task_103",
        "backend_task_122",
    }
    repository = tasks["backend_task_109"]
    assert [(a.table, a.operations) for a in repository.database] == [("conversations", ["INSERT"])]


def test_tree_task_carries_graph_and_cross_stack_links() -> None:
    registry_text, documents, _ = sample("tree")
    plan = parse_registry(json.loads(registry_text)).plan(documents, regenerate=False)
    tasks = {task.task_id: task for task in plan.tasks}

    list_todos = tasks["6.1.2"]
    assert list_todos.context_file == ".claude_tasks/contexts/backend_6_1_2_context.md"
    assert list_todos.implementation_file == "src/api/todos/list_todos.py"
    assert list_todos.module == "todos"
    assert [d.task_id for d in list_todos.depends_on] == ["6.3.2", "2.2.1"]
    assert [f.task_id for f in list_todos.frontend_dependents] == ["frontend_task_086"]
    # 2.2.1 is needed by listTodos (6.1.2) and subscribeNotifications (5.1.1)
    assert {d.task_id for d in tasks["2.2.1"].depended_by} == {"6.1.2", "5.1.1"}
    assert tasks["5.3.1"].missing_refs == ["docs/prd.md#offline-sync"]


@pytest.mark.parametrize("name", ["flat", "tree"])
def test_a_planned_task_survives_storage_as_json(name: str) -> None:
    registry_text, documents, _ = sample(name)
    for task in parse_registry(json.loads(registry_text)).plan(documents, regenerate=True).tasks:
        stored = json.loads(json.dumps(msgspec.to_builtins(task)))  # as JSONB would
        assert msgspec.convert(stored, PlannedTask) == task


def test_two_tasks_may_not_share_a_context_file() -> None:
    raw = json.loads(sample("tree")[0])
    for module in (0, 1):
        raw["backend_tasks"][module]["subtasks"][0]["subtasks"][0]["context_file"] = (
            ".claude_tasks/contexts/same.md"
        )
    found = problem(raw)
    assert found.where == "$.backend_tasks[1].subtasks[0].subtasks[0].context_file"
    assert "1.1.1" in found.message


def test_tree_task_keeps_its_own_context_file() -> None:
    raw = json.loads(sample("tree")[0])
    raw["backend_tasks"][0]["subtasks"][0]["subtasks"][0]["context_file"] = (
        ".claude_tasks/contexts/activity.md"
    )
    plan = parse_registry(raw).plan({}, regenerate=False)
    assert plan.tasks[0].context_file == ".claude_tasks/contexts/activity.md"


# -- malformed registries --------------------------------------------------------------------


def flat_task(task_id: str, **extra: Any) -> dict[str, Any]:
    task = {
        "id": task_id,
        "category": "backend",
        "type": "function",
        "level": 3,
        "status": "ready",
        "function": {"name": f"fn_{task_id}", "kind": "service"},
    }
    task.update(extra)
    return task


def problem(raw: object) -> RegistryProblem:
    with pytest.raises(RegistryProblem) as caught:
        parse_registry(raw)
    return caught.value


def test_a_registry_must_be_an_object() -> None:
    assert problem([1, 2]).where == "$"
    assert "JSON object" in problem("text").message


def test_a_registry_must_have_one_of_the_two_shapes() -> None:
    assert problem({"items": []}).where == "$"
    assert "neither shape" in problem({"items": []}).message
    assert problem({"tasks": [], "backend_tasks": []}).where == "$"
    assert problem({"tasks": {"a": 1}}).where == "$.tasks"
    assert problem({"backend_tasks": None}).where == "$.backend_tasks"
    assert problem({"backend_tasks": [], "frontend_tasks": "x"}).where == "$.frontend_tasks"


def test_duplicate_ids_name_the_second_occurrence() -> None:
    found = problem({"tasks": [flat_task("a"), flat_task("b"), flat_task("a")]})
    assert found.where == "$.tasks[2].id"
    assert "duplicate" in found.message and "$.tasks[0]" in found.message


def test_duplicate_dot_ids_inside_one_tree() -> None:
    raw = json.loads(sample("tree")[0])
    raw["backend_tasks"][1]["subtasks"][0]["id"] = "1.1"
    found = problem(raw)
    assert found.where == "$.backend_tasks[1].subtasks[0].id"


def test_a_dependency_on_an_unknown_id() -> None:
    tasks = [
        flat_task("a"),
        flat_task("b"),
        flat_task("c"),
        flat_task("d", dependencies=["a", "zz"]),
    ]
    found = problem({"tasks": tasks})
    assert found.where == "$.tasks[3].dependencies[1]"
    assert "'zz'" in found.message


def test_a_graph_dependency_on_an_unknown_backend_id() -> None:
    raw = json.loads(sample("tree")[0])
    raw["dependency_graph"]["backend_dependencies"]["6.3.1"].append("9.9.9")
    assert problem(raw).where == "$.dependency_graph.backend_dependencies['6.3.1'][2]"


@pytest.mark.parametrize(
    ("task", "where"),
    [
        (flat_task("a", level="3"), "$.tasks[0].level"),
        (flat_task("a", level=True), "$.tasks[0].level"),
        (flat_task("a", status=1), "$.tasks[0].status"),
        (flat_task("a", dependencies="b"), "$.tasks[0].dependencies"),
        (flat_task("a", dependencies=[7]), "$.tasks[0].dependencies[0]"),
        (flat_task("a", function=[]), "$.tasks[0].function"),
        (flat_task("a", function={"name": "f", "kind": "handler"}), "$.tasks[0].function.kind"),
        (flat_task("a", function={"name": 5, "kind": "util"}), "$.tasks[0].function.name"),
        (
            flat_task("a", function={"name": "f", "kind": "util", "parameters": [{"type": "int"}]}),
            "$.tasks[0].function.parameters[0].name",
        ),
        (
            flat_task("a", function={"name": "f", "kind": "endpoint", "http": {"route": 1}}),
            "$.tasks[0].function.http.route",
        ),
        (
            flat_task("a", frontend_dependencies=[{"component": "X"}]),
            "$.tasks[0].frontend_dependencies[0].task_id",
        ),
        ({"id": 15, "category": "backend"}, "$.tasks[0].id"),
        ("backend_task_001", "$.tasks[0]"),
    ],
)
def test_wrong_field_types_name_their_place(task: Any, where: str) -> None:
    assert problem({"tasks": [task]}).where == where


def test_tree_subtasks_and_context_files_are_checked() -> None:
    raw = json.loads(sample("tree")[0])
    tree = copy.deepcopy(raw)
    tree["backend_tasks"][2]["subtasks"][0]["subtasks"] = {"id": "3.1.1"}
    assert problem(tree).where == "$.backend_tasks[2].subtasks[0].subtasks"
    tree = copy.deepcopy(raw)
    tree["backend_tasks"][2]["subtasks"][0]["subtasks"][0]["context_file"] = "../../etc/x.md"
    assert problem(tree).where == "$.backend_tasks[2].subtasks[0].subtasks[0].context_file"


@pytest.mark.parametrize(
    "context_file",
    [
        ".git/config",
        "src/app.py",
        ".claude_tasks/task_registry.json",
        ".claude_tasks/contexts/../../src/app.md",
        ".claude_tasks/contexts/sub/x.md",
        ".claude_tasks/contexts/.hidden.md",
        ".claude_tasks/contexts/x.py",
    ],
)
def test_a_tree_task_may_only_name_a_file_of_the_contexts_folder(context_file: str) -> None:
    # The archive is unpacked into the project: anything else could overwrite its files.
    raw = json.loads(sample("tree")[0])
    raw["backend_tasks"][2]["subtasks"][0]["subtasks"][0]["context_file"] = context_file
    found = problem(raw)
    assert found.where == "$.backend_tasks[2].subtasks[0].subtasks[0].context_file"
    assert ".claude_tasks/contexts/<name>.md" in found.message


@pytest.mark.parametrize(
    ("field", "where"),
    [("title", "$.tasks[1].title"), ("id", "$.tasks[1].id")],
)
def test_a_nul_character_anywhere_names_its_place(field: str, where: str) -> None:
    task = {"id": "backend_task_002", "category": "backend", "title": "ok"}
    bad = {**task, field: "before\x00after"}
    found = problem({"tasks": [{**task, "id": "backend_task_001"}, bad]})
    assert found.where == where and "NUL" in found.message


@pytest.mark.parametrize("bad_id", ["backend_task\n1", "a\tb", "a\x01", "a\x7f", "a\x85"])
def test_a_task_id_that_cannot_name_a_file_is_refused_with_its_place(bad_id: str) -> None:
    flat = {"tasks": [{"id": "backend_task_001"}, {"id": bad_id, "category": "backend"}]}
    found = problem(flat)
    assert found.where == "$.tasks[1].id" and "control characters" in found.message
    tree = {"backend_tasks": [{"id": "1", "subtasks": [{"id": f"1.{bad_id}"}]}]}
    assert problem(tree).where == "$.backend_tasks[0].subtasks[0].id"


def test_more_than_twenty_thousand_tasks() -> None:
    tasks = [{"id": f"t{i}", "category": "frontend"} for i in range(20_001)]
    found = problem({"tasks": tasks})
    assert found.where == "$.tasks" and "20,000" in found.message
    assert isinstance(parse_registry({"tasks": tasks[:20_000]}), Registry)
    nested = {"backend_tasks": [{"id": "1", "subtasks": tasks}]}
    assert problem(nested).where == "$.backend_tasks"


# -- the status write-back --------------------------------------------------------------------


def without(value: Any, task_ids: set[str]) -> Any:
    """``value`` with status/context_file removed from the given tasks (anywhere)."""
    if isinstance(value, dict):
        drop = value.get("id") in task_ids
        return {
            k: without(v, task_ids)
            for k, v in value.items()
            if not (drop and k in ("status", "context_file"))
        }
    if isinstance(value, list):
        return [without(v, task_ids) for v in value]
    return value


def key_orders(value: Any, path: str = "$") -> dict[str, list[str]]:
    orders: dict[str, list[str]] = {}
    if isinstance(value, dict):
        orders[path] = [k for k in value if k != "context_file"]
        for key, item in value.items():
            orders.update(key_orders(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            orders.update(key_orders(item, f"{path}[{index}]"))
    return orders


@pytest.mark.parametrize("name", ["flat", "tree"])
def test_updated_registry_marks_exactly_the_generated_tasks(name: str) -> None:
    registry_text, documents, _ = sample(name)
    before = json.loads(registry_text)
    plan = parse_registry(before).plan(documents, regenerate=False)
    generated = {task.task_id: task.context_file for task in plan.tasks}

    text = updated_registry(registry_text, generated)
    after = json.loads(text)

    again = parse_registry(after).plan(documents, regenerate=False)
    assert again.tasks == []  # everything is context_ready now
    assert sorted(again.skipped) == sorted([*generated, *plan.skipped])
    assert without(after, set(generated)) == without(before, set(generated))
    assert key_orders(after) == key_orders(before)
    assert text.endswith("\n") == registry_text.endswith("\n")
    assert text.splitlines()[1].startswith("  ")  # laid out like the original


def test_updated_registry_writes_status_and_context_file_in_place() -> None:
    text = '{"tasks": [{"id": "a", "status": "ready", "x-custom": {"keep": [1, 2.5]}}]}'
    updated = json.loads(updated_registry(text, {"a": ".claude_tasks/contexts/a_context.md"}))
    assert updated == {
        "tasks": [
            {
                "id": "a",
                "status": "context_ready",
                "x-custom": {"keep": [1, 2.5]},
                "context_file": ".claude_tasks/contexts/a_context.md",
            }
        ]
    }
    assert list(updated["tasks"][0]) == ["id", "status", "x-custom", "context_file"]


def test_updated_registry_refuses_unknown_task_ids() -> None:
    with pytest.raises(ValueError, match="nope"):
        updated_registry('{"tasks": []}', {"nope": "x.md"})


def test_tree_ids_update_the_backend_tree_only() -> None:
    registry_text, _, _ = sample("tree")
    after = json.loads(updated_registry(registry_text, {"1.1.1": "c.md"}))
    assert after["backend_tasks"][0]["subtasks"][0]["subtasks"][0]["status"] == "context_ready"
    assert after["frontend_tasks"][0]["subtasks"][0]["subtasks"][0]["status"] == "ready"
