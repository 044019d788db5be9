"""The task registry: parse either shape, plan a generation run, write the statuses back.

``parse_registry`` checks the whole registry up front (shape, ids, dependencies, field
types, the 20,000-task limit) and raises ``RegistryProblem`` with the exact JSON place;
``Registry.plan`` selects the backend level-3 ``ready`` functions in registry order and
joins each with its dependencies both ways and references to its document excerpts
(the texts are attached by the worker, see ``documents.attach_excerpts``); ``updated_registry``
marks the generated tasks ``context_ready`` in the registry text as submitted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from services.contexts.generation.documents import DocumentIndex, missing_spec_warning
from services.contexts.generation.planned_task import KINDS, FrontendLink, PlannedTask, TaskLink
from services.contexts.generation.registry_shapes import (
    MAX_TASKS,
    Node,
    RegistryProblem,
    check_dependencies,
    check_no_nul,
    check_unique,
    detect_shape,
    flat_nodes,
    get_object_list,
    get_str,
    graph_links,
    tree_nodes,
)
from services.contexts.generation.task_fields import function_task, snake_case

__all__ = [
    "Plan",
    "PlannedTask",
    "Registry",
    "RegistryProblem",
    "parse_registry",
    "updated_registry",
]

BATCH_SIZE = 10  # tasks per sub-batch: a task's batch is position // BATCH_SIZE + 1
# What a dependency link quotes of the other task's description: enough to say what it
# provides. Uncapped, a registry of tasks depending on each other with long descriptions
# would grow quadratically in the stored specs.
MAX_LINK_SUMMARY_CHARS = 200
READY, CONTEXT_READY = "ready", "context_ready"


def _is_function(node: Node) -> bool:
    return node.category == "backend" and node.type == "function" and node.level == 3


@dataclass
class Plan:
    tasks: list[PlannedTask]  # selected, registry order
    skipped: list[str]  # already context_ready, not regenerated
    not_qualifying: list[str]  # tree ids as "backend:1.2" / "frontend:1.1.1"
    warnings: list[str]  # the "Missing Specifications" text, one per missing ref

    @property
    def sub_batches(self) -> int:
        return math.ceil(len(self.tasks) / BATCH_SIZE)

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for task in self.tasks:
            counts[task.kind] += 1
        return counts

    @property
    def missing_spec(self) -> list[str]:
        return [task.task_id for task in self.tasks if task.missing_refs]


@dataclass
class Registry:
    shape: Literal["flat", "tree"]
    nodes: list[Node]
    # The backend level-3 functions that are ready or context_ready, by node key.
    functions: dict[str, PlannedTask] = field(default_factory=dict)

    def plan(self, documents: Mapping[str, str], *, regenerate: bool) -> Plan:
        index = DocumentIndex(documents)
        plan = Plan(tasks=[], skipped=[], not_qualifying=[], warnings=[])
        wanted = {READY, CONTEXT_READY} if regenerate else {READY}
        for node in self.nodes:
            task = self.functions.get(node.key)
            if task is not None and node.status in wanted:
                task = _with_documents(task, index)
                plan.tasks.append(task)
                plan.warnings.extend(task.warnings)
            elif task is not None and node.status == CONTEXT_READY:
                plan.skipped.append(node.task_id)
            else:
                plan.not_qualifying.append(node.key)
        return plan


def _with_documents(task: PlannedTask, index: DocumentIndex) -> PlannedTask:
    if not task.spec_refs:
        terms = {task.module, task.function_name, snake_case(task.function_name)}
        terms.update(re.split(r"[.:]", task.function_name))
        return msgspec.structs.replace(task, excerpts=index.mentioning(t for t in terms if t))
    excerpts, missing = [], []
    for ref in task.spec_refs:
        excerpt = index.resolve(ref)
        if excerpt is None:
            missing.append(ref)
        elif excerpt not in excerpts:
            excerpts.append(excerpt)
    warnings = [missing_spec_warning(task.task_id, ref) for ref in missing]
    return msgspec.structs.replace(
        task, excerpts=excerpts, missing_refs=missing, warnings=task.warnings + warnings
    )


def parse_registry(raw: object, *, max_tasks: int = MAX_TASKS) -> Registry:
    """Check ``raw`` (the decoded registry JSON) whole; ``RegistryProblem`` names the place."""
    shape = detect_shape(raw)
    assert isinstance(raw, dict)
    check_no_nul(raw)
    nodes = flat_nodes(raw, max_tasks) if shape == "flat" else tree_nodes(raw, max_tasks)
    by_key = check_unique(nodes)
    check_dependencies(nodes, by_key)
    graph, cross_stack = graph_links(raw, by_key) if shape == "tree" else ({}, {})
    registry = Registry(shape="flat" if shape == "flat" else "tree", nodes=nodes)
    files: dict[str, Node] = {}
    for node in nodes:
        if _is_function(node) and node.status in (READY, CONTEXT_READY):
            task = registry.functions[node.key] = function_task(node)
            first = files.setdefault(task.context_file, node)
            if first is not node:  # two tasks would write the same file
                field = "context_file" if node.tree else "id"
                raise RegistryProblem(
                    f"{node.where}.{field}",
                    f"its context file {task.context_file} is also {first.task_id}'s",
                )
    _link(registry, by_key, graph, cross_stack)
    return registry


def _link(
    registry: Registry,
    by_key: dict[str, Node],
    graph: dict[str, list[str]],
    cross_stack: dict[str, list[str]],
) -> None:
    """Fill each function's dependencies both ways and the frontend components calling it."""
    depends_on: dict[str, list[str]] = {}
    for node in registry.nodes:
        prefix = f"{node.tree}:" if node.tree else ""
        extra = graph.get(node.task_id, []) if node.tree == "backend" else []
        depends_on[node.key] = list(dict.fromkeys(prefix + d for d in node.dependencies + extra))
    dependents: dict[str, list[str]] = {}
    frontend: dict[str, list[FrontendLink]] = {}
    for node in registry.nodes:
        calls_from_frontend = node.category == "frontend" or node.tree == "frontend"
        for target in depends_on[node.key]:
            if calls_from_frontend:
                link = FrontendLink(
                    task_id=node.task_id, component=_name(node), usage="Depends on it"
                )
                frontend.setdefault(target, []).append(link)
            else:
                dependents.setdefault(target, []).append(node.key)
    for frontend_id, targets in cross_stack.items():
        component = by_key.get(f"frontend:{frontend_id}")
        for target in targets:
            frontend.setdefault(f"backend:{target}", []).append(
                FrontendLink(
                    task_id=frontend_id,
                    component=_name(component) if component else "",
                    usage="Calls this function",
                )
            )
    for key, task in registry.functions.items():
        node = by_key[key]
        own = [] if node.tree else _frontend_dependencies(node)
        links = {link.task_id: link for link in own + frontend.get(key, [])}
        task.depends_on = [_task_link(by_key[k], registry) for k in depends_on[key]]
        task.depended_by = [_task_link(by_key[k], registry) for k in dependents.get(key, [])]
        task.frontend_dependents = list(links.values())


def _frontend_dependencies(node: Node) -> list[FrontendLink]:
    links = []
    for index, item in enumerate(get_object_list(node.raw, "frontend_dependencies", node.where)):
        where = f"{node.where}.frontend_dependencies[{index}]"
        task_id = get_str(item, "task_id", where, required=True)
        assert task_id is not None
        links.append(
            FrontendLink(
                task_id=task_id,
                component=get_str(item, "component", where) or "",
                usage=get_str(item, "usage", where) or "",
            )
        )
    return links


def _function_fields(node: Node) -> dict[str, Any]:
    if node.tree:
        return node.raw
    function = node.raw.get("function")
    return function if isinstance(function, dict) else {}


def _name(node: Node) -> str:
    fields = _function_fields(node)
    for value in (fields.get("name"), fields.get("function_name"), node.raw.get("title")):
        if isinstance(value, str) and value:
            return value
    return node.task_id


def _task_link(node: Node, registry: Registry) -> TaskLink:
    fields = _function_fields(node)
    planned = registry.functions.get(node.key)
    file = planned.implementation_file if planned else fields.get("implementation_file")
    kind = fields.get("kind") or fields.get("function_type") or node.type or "task"
    summary = fields.get("description") or node.raw.get("title") or ""
    return TaskLink(
        task_id=node.task_id,
        function_name=_name(node),
        kind=str(kind),
        summary=_clip_summary(summary) if isinstance(summary, str) else "",
        implementation_file=file if isinstance(file, str) else "",
    )


def _clip_summary(text: str) -> str:
    if len(text) <= MAX_LINK_SUMMARY_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_LINK_SUMMARY_CHARS - 1)
    return text[: cut if cut > 0 else MAX_LINK_SUMMARY_CHARS - 1].rstrip() + "…"


# -- writing the statuses back ----------------------------------------------------------------


def updated_registry(registry_text: str, generated: Mapping[str, str]) -> str:
    """``registry_text`` with each generated task (task id -> context file) set to
    ``context_ready`` and its ``context_file`` set; everything else, unknown fields and
    key order included, unchanged. Tree ids name backend tasks."""
    raw = json.loads(registry_text)
    shape = detect_shape(raw)
    pending = dict(generated)
    if shape == "flat":
        tasks = [task for task in raw["tasks"] if isinstance(task, dict)]
    else:
        tasks, stack = [], list(raw.get("backend_tasks") or [])
        while stack:
            task = stack.pop()
            if isinstance(task, dict):
                tasks.append(task)
                stack.extend(task.get("subtasks") or [])
    for task in tasks:
        task_id = task.get("id")
        if isinstance(task_id, str) and task_id in pending:
            task["status"] = CONTEXT_READY
            task["context_file"] = pending.pop(task_id)
    if pending:
        raise ValueError(f"tasks not in the registry: {', '.join(sorted(pending))}")
    return _dump_like(raw, registry_text)


def _dump_like(value: Any, original: str) -> str:
    """JSON text laid out like ``original``: its indentation, or compact when it was."""
    layout = re.search(r"\n([ \t]+)\S", original)
    if layout:
        indent: str | None = layout.group(1)
        separators = (",", ": ")
    else:
        indent = None
        separators = (", ", ": ") if '": ' in original else (",", ":")
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    return text + "\n" if original.endswith("\n") else text
