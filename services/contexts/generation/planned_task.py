"""What a generator is given for one task: everything needed to write its context file.

A ``PlannedTask`` is self-contained (the intake stores it as JSONB with
``msgspec.to_builtins`` and the worker reads it back with ``msgspec.convert``): the task's
own fields from either registry shape, its dependencies both ways, the frontend
components that call it, and references to the sections of the documents its
``spec_refs`` point to. The documents themselves are stored once per job; the excerpt
texts are filled in by :func:`services.contexts.generation.documents.attach_excerpts`
just before generating, so a spec stays small however many tasks quote the same section.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Kind = Literal["endpoint", "service", "repository", "validator", "util"]
KINDS: tuple[Kind, ...] = ("endpoint", "service", "repository", "validator", "util")

# The template's "Layer" line per function type, and the source folder of each layer.
LAYER_TITLES: dict[str, str] = {
    "endpoint": "API",
    "service": "Business Logic",
    "repository": "Data Access",
    "validator": "Validation",
    "util": "Utility",
}
LAYER_FOLDERS: dict[str, str] = {
    "endpoint": "api",
    "service": "services",
    "repository": "repositories",
    "validator": "validators",
    "util": "utils",
}
KIND_OF_FOLDER = {folder: kind for kind, folder in LAYER_FOLDERS.items()}


class Parameter(msgspec.Struct, kw_only=True):
    name: str
    type: str = "Any"
    required: bool = True
    description: str = ""
    validation: str = ""


class Returns(msgspec.Struct, kw_only=True):
    type: str = "None"
    description: str = ""


class HttpSpec(msgspec.Struct, kw_only=True):
    method: str
    route: str
    auth: str = "required"
    status_codes: list[int] = msgspec.field(default_factory=list)
    request_body: Any = None
    response_body: Any = None


class TableAccess(msgspec.Struct, kw_only=True):
    table: str
    operations: list[str] = msgspec.field(default_factory=list)


class TaskLink(msgspec.Struct, kw_only=True):
    """Another backend task, seen from this one (a dependency or a dependent)."""

    task_id: str
    function_name: str
    kind: str  # a function type, or the task's own type ("feature") when it is no function
    summary: str  # what it provides: its description or title
    implementation_file: str = ""


class FrontendLink(msgspec.Struct, kw_only=True):
    task_id: str
    component: str
    usage: str


class Excerpt(msgspec.Struct, kw_only=True):
    source: str  # "docs/prd.md#todo-management"
    heading: str  # "Todo Management"
    document: str = ""  # "docs/prd.md"
    anchor: str = ""  # the section's slug; empty for the whole document
    own: bool = False  # only the section's own text, down to the next heading of any level
    text: str = ""  # the section, heading line included; empty until attached


class PlannedTask(msgspec.Struct, kw_only=True):
    task_id: str
    function_name: str
    kind: Kind
    context_file: str  # relative to the project root
    warnings: list[str] = msgspec.field(default_factory=list)
    title: str = ""
    description: str = ""
    module: str = ""
    layer: str = ""  # the source folder: api, services, repositories, validators, utils
    signature: str = ""
    parameters: list[Parameter] = msgspec.field(default_factory=list)
    returns: Returns = msgspec.field(default_factory=Returns)
    http: HttpSpec | None = None
    database: list[TableAccess] = msgspec.field(default_factory=list)
    implementation_file: str = ""
    test_file: str = ""
    spec_refs: list[str] = msgspec.field(default_factory=list)
    missing_refs: list[str] = msgspec.field(default_factory=list)
    excerpts: list[Excerpt] = msgspec.field(default_factory=list)
    depends_on: list[TaskLink] = msgspec.field(default_factory=list)
    depended_by: list[TaskLink] = msgspec.field(default_factory=list)
    frontend_dependents: list[FrontendLink] = msgspec.field(default_factory=list)
    registry_shape: Literal["flat", "tree"] = "flat"
