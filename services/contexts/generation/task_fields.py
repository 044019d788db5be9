"""A backend function task's own fields, read from either shape into a ``PlannedTask``.

The flat shape keeps them in a ``function`` object (``name``, ``kind``, ``http``,
``database``...); the tree shape keeps them on the task itself (``title``,
``function_type``, ``http_method``, ``route``, ``database_operations``...). Values are
type-checked here, so a generator never meets a surprise.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, cast

from services.contexts.generation.planned_task import (
    KIND_OF_FOLDER,
    KINDS,
    LAYER_FOLDERS,
    HttpSpec,
    Kind,
    Parameter,
    PlannedTask,
    Returns,
    TableAccess,
)
from services.contexts.generation.registry_shapes import (
    Node,
    RegistryProblem,
    get_bool,
    get_list,
    get_object,
    get_object_list,
    get_str,
    get_str_list,
    type_name,
)

CONTEXTS_DIR = ".claude_tasks/contexts"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_OWN_CONTEXT_FILE = re.compile(re.escape(CONTEXTS_DIR) + r"/[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}\.md")


def snake_case(name: str) -> str:
    """``listTodos`` -> ``list_todos``; ``TodoRepository.get_for_user`` ->
    ``todo_repository_get_for_user`` (the file names the tree sample uses)."""
    return _NOT_WORD.sub("_", _CAMEL.sub("_", name)).strip("_").lower() or "function"


def function_task(node: Node) -> PlannedTask:
    """The ``PlannedTask`` of a backend function task, before documents and links."""
    if node.tree:
        source, where = node.raw, node.where
        name = get_str(source, "function_name", where) or get_str(source, "title", where)
        kind_field = "function_type"
    else:
        where = f"{node.where}.function"
        source = get_object(node.raw, "function", node.where) or {}
        name = get_str(source, "name", where) or get_str(node.raw, "title", node.where)
        kind_field = "kind"
    if not name:
        raise RegistryProblem(f"{where}.name", "is missing: a function task needs a name")
    layer = get_str(source, "layer", where) or ""
    kind = _kind(source, kind_field, where, layer)
    layer = layer or LAYER_FOLDERS[kind]
    implementation = get_str(source, "implementation_file", where) or get_str(
        node.raw, "implementation_file", node.where
    )
    module = get_str(source, "module", where) or _module_of(implementation, node.module_title)
    stem = snake_case(name)
    folder = "/".join(part for part in (layer, module) if part)
    return PlannedTask(
        task_id=node.task_id,
        function_name=name,
        kind=kind,
        context_file=_context_file(node),
        title=get_str(node.raw, "title", node.where) or name,
        description=get_str(source, "description", where)
        or get_str(node.raw, "description", node.where)
        or "",
        module=module,
        layer=layer,
        signature=get_str(source, "signature", where) or "",
        parameters=_parameters(source, where),
        returns=_returns(source, where),
        http=_http(source, where, nested=not node.tree),
        database=_database(source, where, nested=not node.tree),
        implementation_file=implementation or f"src/{folder}/{stem}.py",
        test_file=f"tests/{folder}/test_{stem}.py",
        spec_refs=_unique(
            get_str_list(source, "spec_refs", where)
            + (get_str_list(node.raw, "spec_refs", node.where) if not node.tree else [])
        ),
        registry_shape="tree" if node.tree else "flat",
    )


def _kind(source: dict[str, Any], field: str, where: str, layer: str) -> Kind:
    kind = get_str(source, field, where)
    if kind is None and layer.lower() in KIND_OF_FOLDER:
        return cast(Kind, KIND_OF_FOLDER[layer.lower()])
    if kind is None:
        raise RegistryProblem(f"{where}.{field}", f"is missing: one of {', '.join(KINDS)}")
    if kind.lower() not in KINDS:
        raise RegistryProblem(f"{where}.{field}", f"{kind!r} is not one of {', '.join(KINDS)}")
    return cast(Kind, kind.lower())


def _module_of(implementation: str | None, module_title: str) -> str:
    if implementation:
        parts = PurePosixPath(implementation).parts
        if len(parts) >= 3:  # src/<layer>/<module>/<file>.py
            return parts[-2]
    title = re.sub(r"\s+module$", "", module_title.strip(), flags=re.IGNORECASE)
    return snake_case(title) if title else ""


def _context_file(node: Node) -> str:
    if node.tree:
        own = get_str(node.raw, "context_file", node.where)
        if own:
            # Only a file of the contexts folder: the archive is unpacked into the project,
            # so any other path could overwrite its sources, .git or the registry itself.
            if not _OWN_CONTEXT_FILE.fullmatch(own):
                raise RegistryProblem(
                    f"{node.where}.context_file",
                    f"must be {CONTEXTS_DIR}/<name>.md, the name made of letters, digits,"
                    " '.', '_' and '-' (not starting with '.')",
                )
            return own
        return f"{CONTEXTS_DIR}/backend_{node.task_id.replace('.', '_')}_context.md"
    name = _UNSAFE_FILE_CHARS.sub("_", node.task_id).lstrip(".")
    return f"{CONTEXTS_DIR}/{name}_context.md"


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RegistryProblem(where, f"must be a string, not {type_name(value)}")


def _parameters(source: dict[str, Any], where: str) -> list[Parameter]:
    parameters = []
    for index, item in enumerate(get_object_list(source, "parameters", where)):
        place = f"{where}.parameters[{index}]"
        name = get_str(item, "name", place, required=True)
        assert name is not None
        parameters.append(
            Parameter(
                name=name,
                type=_text(item.get("type"), f"{place}.type") or "Any",
                required=get_bool(item, "required", place, True),
                description=_text(item.get("description"), f"{place}.description"),
                validation=_text(item.get("validation"), f"{place}.validation"),
            )
        )
    return parameters


def _returns(source: dict[str, Any], where: str) -> Returns:
    value = source.get("returns")
    if value is None or isinstance(value, str):
        return Returns(type=value or "None")
    returns = get_object(source, "returns", where) or {}
    place = f"{where}.returns"
    return Returns(
        type=_text(returns.get("type"), f"{place}.type") or "None",
        description=_text(returns.get("description"), f"{place}.description"),
    )


def _http(source: dict[str, Any], where: str, *, nested: bool) -> HttpSpec | None:
    if nested:  # flat: function.http {method, route, auth, status_codes}
        http = get_object(source, "http", where)
        if http is None:
            return None
        where, names = f"{where}.http", ("method", "route")
    else:  # tree: http_method, route, auth, status_codes on the task
        http, names = source, ("http_method", "route")
    method = get_str(http, names[0], where)
    route = get_str(http, names[1], where)
    if method is None and route is None:
        return None
    codes = get_list(http, "status_codes", where)
    for index, code in enumerate(codes):
        if isinstance(code, bool) or not isinstance(code, int):
            raise RegistryProblem(
                f"{where}.status_codes[{index}]", f"must be an integer, not {type_name(code)}"
            )
    return HttpSpec(
        method=(method or "GET").upper(),
        route=route or "/",
        auth=_text(http.get("auth"), f"{where}.auth") or "required",
        status_codes=codes,
        request_body=http.get("request_body"),
        response_body=http.get("response_body"),
    )


def _database(source: dict[str, Any], where: str, *, nested: bool) -> list[TableAccess]:
    field = "database" if nested else "database_operations"
    accesses = []
    for index, item in enumerate(get_object_list(source, field, where)):
        place = f"{where}.{field}[{index}]"
        table = get_str(item, "table", place, required=True)
        assert table is not None
        accesses.append(
            TableAccess(table=table, operations=get_str_list(item, "operations", place))
        )
    if not nested:  # tables listed without their operations
        known = {access.table for access in accesses}
        for table in get_str_list(source, "database_tables", where):
            if table not in known:
                accesses.append(TableAccess(table=table))
                known.add(table)
    return accesses


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
