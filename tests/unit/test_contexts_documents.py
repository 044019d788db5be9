"""Document sections: anchors, section boundaries, mentions and the missing-spec warning."""

from __future__ import annotations

from services.contexts.generation.documents import (
    DocumentIndex,
    attach_excerpts,
    missing_spec_warning,
    slugify,
)
from services.contexts.generation.registry import parse_registry

PRD = """\
# Product

## Todo Management
Todos belong to one user.

### Sorting & Paging
At most 100 per page.

```markdown
## Not A Heading
```

## Tags (v2)
Tags are labels on todos.

## Tags (v2)
The second section of the same name.
"""


def test_slugs_follow_github() -> None:
    assert slugify("Todo Management") == "todo-management"
    assert slugify("Sorting & Paging") == "sorting--paging"
    assert slugify("Tags (v2)") == "tags-v2"
    assert slugify("The `limit` [option](x.md)") == "the-limit-option"


def test_a_section_runs_to_the_next_heading_of_the_same_or_higher_level() -> None:
    index = DocumentIndex({"docs/prd.md": PRD})
    excerpt = index.resolve("docs/prd.md#todo-management")
    assert excerpt is not None
    assert excerpt.heading == "Todo Management"
    text = index.text_of(excerpt) or ""
    assert "At most 100 per page." in text  # its subsection is included
    assert "## Not A Heading" in text  # fenced code is not a heading
    assert "Tags are labels" not in text


def test_repeated_headings_get_numbered_anchors_and_paths_are_normalized() -> None:
    index = DocumentIndex({"./docs/prd.md": PRD})
    first, second = index.resolve("docs/prd.md#tags-v2"), index.resolve("docs/prd.md#tags-v2-1")
    assert first is not None and "labels on todos" in (index.text_of(first) or "")
    assert second is not None and "second section" in (index.text_of(second) or "")
    assert index.resolve("docs/prd.md#Sorting & Paging") is not None  # written as the heading


def test_a_ref_without_anchor_is_the_whole_document_and_unknown_refs_are_none() -> None:
    index = DocumentIndex({"docs/prd.md": PRD})
    whole = index.resolve("docs/prd.md")
    assert whole is not None and (index.text_of(whole) or "").startswith("# Product")
    assert index.resolve("docs/prd.md#offline-sync") is None
    assert index.resolve("docs/api.md#todo-management") is None


def test_sections_mentioning_a_term_in_their_own_text() -> None:
    index = DocumentIndex({"docs/prd.md": PRD})
    found = index.mentioning(["todos"])
    assert [e.heading for e in found] == ["Todo Management", "Tags (v2)"]


def test_missing_spec_warning_is_the_standard_text() -> None:
    assert missing_spec_warning("backend_task_105", "docs/prd.md#offline-sync") == (
        "Warning: backend_task_105 references missing API specification\n"
        "  Expected: docs/prd.md section on offline-sync\n"
        "  Action: Creating context with available information\n"
        "  TODO: Update context after specification is added"
    )


def test_a_task_without_refs_gets_the_sections_mentioning_its_module() -> None:
    registry = parse_registry(
        {
            "tasks": [
                {
                    "id": "backend_task_001",
                    "category": "backend",
                    "type": "function",
                    "level": 3,
                    "status": "ready",
                    "function": {"name": "tagTodo", "kind": "service", "module": "todos"},
                }
            ]
        }
    )
    plan = registry.plan({"docs/prd.md": PRD}, regenerate=False)
    (task,) = plan.tasks
    assert [e.source for e in task.excerpts] == [
        "docs/prd.md#todo-management",
        "docs/prd.md#tags-v2",
    ]
    assert plan.warnings == [] and task.missing_refs == []
    attached = attach_excerpts(task, {"docs/prd.md": PRD})
    assert [e.text.splitlines()[-1] for e in attached.excerpts] == [
        "Todos belong to one user.",  # the section's own text, not its subsections
        "Tags are labels on todos.",
    ]


def test_the_spec_names_sections_and_the_texts_are_attached_from_the_documents() -> None:
    registry = parse_registry(
        {
            "tasks": [
                {
                    "id": "backend_task_001",
                    "category": "backend",
                    "type": "function",
                    "level": 3,
                    "status": "ready",
                    "spec_refs": ["docs/prd.md#todo-management", "docs/prd.md#offline"],
                    "function": {"name": "listTodos", "kind": "service", "module": "todos"},
                }
            ]
        }
    )
    (task,) = registry.plan({"docs/prd.md": PRD}, regenerate=False).tasks
    assert [(e.document, e.anchor, e.text) for e in task.excerpts] == [
        ("docs/prd.md", "todo-management", "")
    ]
    assert task.missing_refs == ["docs/prd.md#offline"]
    (excerpt,) = attach_excerpts(task, {"docs/prd.md": PRD}).excerpts
    assert excerpt.text.startswith("## Todo Management")
    assert "At most 100 per page." in excerpt.text
