"""The two registry shapes, walked into one flat list of tasks with their exact JSON places.

- flat: ``{"tasks": [{id, category, type, level, status, function: {...}, dependencies,
  frontend_dependencies}, ...]}``;
- tree: ``{"backend_tasks": [module {subtasks: [service {subtasks: [function]}]}],
  "frontend_tasks": [...], "dependency_graph": {...}}`` with dot ids ("1.2.3") that repeat
  between the backend and the frontend trees, so a tree task's key is "backend:1.2.3".

Every value read here is type-checked; a wrong one raises ``RegistryProblem`` naming its
place ("$.backend_tasks[1].subtasks[0].id").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.input_checks import nul_place

MAX_TASKS = 20_000
TREES = ("backend", "frontend")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RegistryProblem(Exception):
    """The registry cannot be used; ``where`` is the JSON path of the offending value."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


@dataclass(slots=True)
class Node:
    """One task of the registry, whatever its shape."""

    key: str  # unique in the registry: the id (flat) or "backend:1.2.3" (tree)
    task_id: str  # the id as written
    where: str  # "$.tasks[3]"
    raw: dict[str, Any]
    tree: str = ""  # "backend" or "frontend" for the tree shape
    module_title: str = ""  # tree: the title of the level-1 task above it
    category: str | None = None
    type: str | None = None
    level: int | None = None
    status: str | None = None
    dependencies: list[str] = field(default_factory=list)


def check_no_nul(raw: object) -> None:
    """Refuse a NUL character (``\\u0000``) in any key or string: the database cannot
    store one, and no task needs one."""
    place = nul_place(raw, "$")
    if place is not None:
        raise RegistryProblem(place, "contains a NUL character (\\u0000)")


# -- typed access ------------------------------------------------------------------------------


def type_name(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def get_str(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise RegistryProblem(f"{where}.{key}", "is missing (a string is required)")
        return None
    if not isinstance(value, str):
        raise RegistryProblem(f"{where}.{key}", f"must be a string, not {type_name(value)}")
    return value


def get_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RegistryProblem(f"{where}.{key}", f"must be an integer, not {type_name(value)}")
    return value


def get_bool(obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RegistryProblem(f"{where}.{key}", f"must be true or false, not {type_name(value)}")
    return value


def get_object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RegistryProblem(f"{where}.{key}", f"must be an object, not {type_name(value)}")
    return value


def get_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RegistryProblem(f"{where}.{key}", f"must be an array, not {type_name(value)}")
    return value


def get_str_list(obj: dict[str, Any], key: str, where: str) -> list[str]:
    items = get_list(obj, key, where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise RegistryProblem(
                f"{where}.{key}[{index}]", f"must be a string, not {type_name(item)}"
            )
    return items


def get_object_list(obj: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = get_list(obj, key, where)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise RegistryProblem(
                f"{where}.{key}[{index}]", f"must be an object, not {type_name(item)}"
            )
    return items


# -- the shapes ------------------------------------------------------------------------------


def detect_shape(raw: object) -> str:
    if not isinstance(raw, dict):
        raise RegistryProblem("$", f"the registry must be a JSON object, not {type_name(raw)}")
    has_flat, has_tree = "tasks" in raw, "backend_tasks" in raw
    if has_flat and has_tree:
        raise RegistryProblem(
            "$", "has both 'tasks' (flat shape) and 'backend_tasks' (tree shape); keep one"
        )
    if not has_flat and not has_tree:
        raise RegistryProblem(
            "$", "is neither shape: expected a 'tasks' array (flat) or 'backend_tasks' (tree)"
        )
    return "flat" if has_flat else "tree"


def _node(task: dict[str, Any], key: str, where: str, **extra: Any) -> Node:
    task_id = get_str(task, "id", where, required=True)
    assert task_id is not None
    if not task_id.strip():
        raise RegistryProblem(f"{where}.id", "must not be empty")
    if _CONTROL.search(task_id):
        # An id names the task's context file and appears in its headings.
        raise RegistryProblem(f"{where}.id", f"must not contain control characters: {task_id!r}")
    return Node(
        key=key.format(id=task_id),
        task_id=task_id,
        where=where,
        raw=task,
        category=get_str(task, "category", where),
        type=get_str(task, "type", where),
        level=get_int(task, "level", where),
        status=get_str(task, "status", where),
        dependencies=get_str_list(task, "dependencies", where),
        **extra,
    )


def _too_many(where: str, max_tasks: int) -> RegistryProblem:
    return RegistryProblem(where, f"holds more than {max_tasks:,} tasks")


def _require_list(raw: dict[str, Any], key: str) -> None:
    if not isinstance(raw.get(key), list):
        raise RegistryProblem(f"$.{key}", f"must be an array, not {type_name(raw.get(key))}")


def flat_nodes(raw: dict[str, Any], max_tasks: int = MAX_TASKS) -> list[Node]:
    _require_list(raw, "tasks")
    tasks = get_object_list(raw, "tasks", "$")
    if len(tasks) > max_tasks:
        raise _too_many("$.tasks", max_tasks)
    return [_node(task, "{id}", f"$.tasks[{index}]") for index, task in enumerate(tasks)]


def tree_nodes(raw: dict[str, Any], max_tasks: int = MAX_TASKS) -> list[Node]:
    """Every task of both trees, parents before children, backend tree first."""
    _require_list(raw, "backend_tasks")
    nodes: list[Node] = []
    for tree in ("backend", "frontend"):
        roots = get_object_list(raw, f"{tree}_tasks", "$")
        # An explicit stack: a registry may nest deeper than Python's recursion limit.
        stack = [(task, f"$.{tree}_tasks[{i}]", "") for i, task in reversed(list(enumerate(roots)))]
        while stack:
            task, where, module_title = stack.pop()
            if len(nodes) >= max_tasks:
                raise _too_many(f"$.{tree}_tasks", max_tasks)
            node = _node(task, f"{tree}:{{id}}", where, tree=tree, module_title=module_title)
            if not module_title:  # a root: the module its subtasks belong to
                node.module_title = get_str(task, "title", where) or node.task_id
            nodes.append(node)
            children = get_object_list(task, "subtasks", where)
            stack.extend(
                (child, f"{where}.subtasks[{i}]", node.module_title)
                for i, child in reversed(list(enumerate(children)))
            )
    return nodes


def check_unique(nodes: list[Node]) -> dict[str, Node]:
    by_key: dict[str, Node] = {}
    for node in nodes:
        first = by_key.setdefault(node.key, node)
        if first is not node:
            raise RegistryProblem(
                f"{node.where}.id", f"duplicate task id {node.task_id!r} (first at {first.where})"
            )
    return by_key


def check_dependencies(nodes: list[Node], by_key: dict[str, Node]) -> None:
    for node in nodes:
        prefix = f"{node.tree}:" if node.tree else ""
        for index, dependency in enumerate(node.dependencies):
            if prefix + dependency not in by_key:
                raise RegistryProblem(
                    f"{node.where}.dependencies[{index}]",
                    f"depends on unknown task id {dependency!r}",
                )


def graph_links(
    raw: dict[str, Any], by_key: dict[str, Node]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The tree's ``dependency_graph``: backend_dependencies (backend id -> the backend ids
    it depends on) and cross_stack_dependencies (frontend id -> the backend ids it calls).
    Every backend id named must exist; the frontend ids may live in another registry."""
    graph = get_object(raw, "dependency_graph", "$")
    if graph is None:
        return {}, {}
    where = "$.dependency_graph"
    result: list[dict[str, list[str]]] = []
    for name in ("backend_dependencies", "cross_stack_dependencies"):
        table = get_object(graph, name, where) or {}
        place = f"{where}.{name}"
        for key, targets in table.items():
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise RegistryProblem(f"{place}[{key!r}]", "must be an array of task ids")
            if name == "backend_dependencies" and f"backend:{key}" not in by_key:
                raise RegistryProblem(f"{place}[{key!r}]", f"unknown backend task id {key!r}")
            for index, target in enumerate(targets):
                if f"backend:{target}" not in by_key:
                    raise RegistryProblem(
                        f"{place}[{key!r}][{index}]",
                        f"depends on unknown backend task id {target!r}",
                    )
        result.append(table)
    return result[0], result[1]
