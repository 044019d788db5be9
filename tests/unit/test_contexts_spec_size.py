"""The stored task specs stay proportional to what was submitted, whatever the overlap.

Documents are stored once per job and quoted by reference; a dependency link quotes only
the start of the other task's description.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.contexts.generation.documents import attach_excerpts
from services.contexts.generation.registry import MAX_LINK_SUMMARY_CHARS, parse_registry

MB = 1_000_000


def function(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"backend_task_{number:05d}",
        "category": "backend",
        "type": "function",
        "level": 3,
        "status": "ready",
        "function": {"name": f"step{number}", "kind": "service", "module": "todos"},
        **extra,
    }


def stored_size(raw: dict[str, Any], documents: dict[str, str]) -> int:
    plan = parse_registry(raw).plan(documents, regenerate=False)
    return sum(len(msgspec.json.encode(task)) for task in plan.tasks)


def test_twenty_thousand_tasks_quoting_one_document_do_not_copy_it() -> None:
    document = "# Todos\n\n" + "Every todo belongs to exactly one user.\n" * 350  # ~14 KB
    documents = {"docs/prd.md": document}
    refs = {"spec_refs": ["docs/prd.md#todos"]}
    raw = {"tasks": [function(n, **refs) for n in range(20_000)]}

    size = stored_size(raw, documents)

    # Copied into every spec this was 293 MB; by reference it is about 1 KB per task.
    assert size < 30 * MB
    # ... and the worker still gets the section to quote.
    task = parse_registry({"tasks": raw["tasks"][:1]}).plan(documents, regenerate=False).tasks[0]
    quoted = attach_excerpts(task, documents).excerpts[0].text
    assert quoted.startswith("# Todos\n\nEvery todo belongs") and len(quoted) > 5_000


def test_tasks_depending_on_each_other_with_long_descriptions_grow_linearly() -> None:
    description = "word " * 6_000  # 30 KB
    count = 50
    raw = {
        "tasks": [
            function(
                n,
                description=description,
                dependencies=[f"backend_task_{d:05d}" for d in range(count) if d != n],
            )
            for n in range(count)
        ]
    }
    for task in raw["tasks"]:
        task["function"]["description"] = description
    registry_size = len(msgspec.json.encode(raw))

    size = stored_size(raw, {})

    # Each task's own description once, plus short links to the 49 others (both ways):
    # 149 MB when every link carried the whole description.
    assert size < 2 * registry_size
    task = parse_registry(raw).plan({}, regenerate=False).tasks[0]
    assert all(len(link.summary) <= MAX_LINK_SUMMARY_CHARS for link in task.depends_on)
    assert task.depends_on[0].summary.startswith("word word")
