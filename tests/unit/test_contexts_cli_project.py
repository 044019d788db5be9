"""The contexts CLI's side of the project folder: what it sends, what it writes where."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from contexts_cli.project import (
    ProjectError,
    read_archive,
    read_project,
    write_results,
)
from services.contexts.generation.registry import updated_registry
from tests.support.samples import SAMPLES


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(SAMPLES / "flat", target)
    for path in target.rglob("*"):  # the samples are read-only
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def write_registry(project_dir: Path, registry: object) -> None:
    (project_dir / ".claude_tasks" / "task_registry.json").write_text(json.dumps(registry))


def test_the_registry_and_the_documents_it_refers_to_are_read(project_dir: Path) -> None:
    project = read_project(project_dir)

    assert project.registry["tasks"][0]["id"] == "backend_task_115"
    assert set(project.documents) == {"docs/prd.md", "docs/fullstack-architecture.md"}
    assert project.documents["docs/prd.md"] == (project_dir / "docs/prd.md").read_text()
    body = project.job_body(generator="llm", regenerate=True)
    assert body["options"] == {"generator": "llm", "regenerate": True}
    # The file's text as it is: the service keeps it byte for byte.
    assert body["registry"] == (project_dir / ".claude_tasks" / "task_registry.json").read_text()


def test_spec_refs_of_the_tree_shape_are_found_too(tmp_path: Path) -> None:
    target = tmp_path / "tree"
    shutil.copytree(SAMPLES / "tree", target)
    (target / "docs" / "prd.md").chmod(0o644)
    (target / "docs" / "api.md").write_text("# API")
    registry = json.loads((target / ".claude_tasks" / "task_registry.json").read_text())
    registry["backend_tasks"][0]["subtasks"][0]["subtasks"][0]["spec_refs"] = ["docs/api.md#x"]
    (target / ".claude_tasks" / "task_registry.json").chmod(0o644)
    write_registry(target, registry)

    assert read_project(target).documents["docs/api.md"] == "# API"


def test_references_outside_the_project_or_to_missing_files_are_not_read(
    project_dir: Path,
) -> None:
    registry = {"tasks": [{"id": "t", "function": {"spec_refs": ["../../../etc/passwd#root"]}}]}
    (project_dir / "docs" / "fullstack-architecture.md").unlink()
    write_registry(project_dir, registry)

    project = read_project(project_dir)

    assert set(project.documents) == {"docs/prd.md"}  # sent without being referenced
    assert project.missing_documents == ["../../../etc/passwd"]


def test_a_missing_registry_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no task registry at .*task_registry.json"):
        read_project(tmp_path)


def test_a_registry_that_is_not_json_names_the_place(project_dir: Path) -> None:
    (project_dir / ".claude_tasks" / "task_registry.json").write_text('{\n  "tasks": [,]\n}')

    with pytest.raises(ProjectError, match=r"not valid JSON: .* line 2, column 13"):
        read_project(project_dir)


def test_results_are_written_and_the_old_registry_is_kept(project_dir: Path) -> None:
    project = read_project(project_dir)
    original = project.registry_text

    written = write_results(
        project,
        {
            ".claude_tasks/contexts/backend_task_115_context.md": "# Task backend_task_115",
            "contexts/backend_1_2_3_context.md": "# Task 1.2.3",
        },
        '{"tasks": []}',
    )

    contexts = project_dir / ".claude_tasks" / "contexts"
    assert sorted(path.name for path in contexts.iterdir()) == [
        "backend_1_2_3_context.md",
        "backend_task_115_context.md",
    ]
    assert (contexts / "backend_task_115_context.md").read_text() == "# Task backend_task_115"
    assert json.loads(project.registry_path.read_text()) == {"tasks": []}
    assert (project_dir / ".claude_tasks" / "task_registry.json.bak").read_text() == original
    assert written.registry_updated and len(written.contexts) == 2


def test_an_unchanged_registry_leaves_the_backup_alone(project_dir: Path) -> None:
    project = read_project(project_dir)
    backup = project_dir / ".claude_tasks" / "task_registry.json.bak"
    backup.write_text("the registry before the previous run")

    written = write_results(project, {}, project.registry_text)

    assert not written.registry_updated
    assert backup.read_text() == "the registry before the previous run"


@pytest.mark.parametrize(
    "path",
    ["contexts/../../evil.md", "../contexts/x.md", "/etc/contexts/x.md", "contexts/x.sh", "a/b.md"],
)
def test_nothing_is_written_outside_the_contexts_folder(project_dir: Path, path: str) -> None:
    with pytest.raises(ProjectError, match="refusing to write"):
        write_results(read_project(project_dir), {path: "x"}, "{}")


def make_archive(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def test_the_archive_gives_the_contexts_and_the_registry_and_nothing_else() -> None:
    data = make_archive(
        {
            ".claude_tasks/task_registry.json": b'{"tasks": []}',
            ".claude_tasks/contexts/backend_task_115_context.md": b"# Task backend_task_115",
            ".claude_tasks/../outside.md": b"no",
            "elsewhere/contexts/x.md": b"no",
        },
        links={".claude_tasks/contexts/link.md": "/etc/passwd"},
    )

    contexts, registry = read_archive(data)

    assert registry == '{"tasks": []}'
    assert contexts == {"contexts/backend_task_115_context.md": "# Task backend_task_115"}


def test_the_updated_registry_keeps_the_layout_of_the_users_file(project_dir: Path) -> None:
    registry = {"tasks": [{"id": "backend_task_1", "status": "ready", "note": "café"}]}
    (project_dir / ".claude_tasks" / "task_registry.json").write_text(
        json.dumps(registry, indent=4, ensure_ascii=False) + "\n"
    )
    project = read_project(project_dir)
    sent = project.job_body(generator="template", regenerate=False)["registry"]
    context_file = ".claude_tasks/contexts/backend_task_1_context.md"

    # What the service answers for the text it was sent.
    write_results(project, {}, updated_registry(sent, {"backend_task_1": context_file}))

    registry["tasks"][0].update(status="context_ready", context_file=context_file)
    assert project.registry_path.read_text() == (
        json.dumps(registry, indent=4, ensure_ascii=False) + "\n"
    )


def test_an_archive_naming_a_file_twice_is_refused() -> None:
    data = make_archive(
        {
            ".claude_tasks/task_registry.json": b'{"tasks": []}',
            "./.claude_tasks/task_registry.json": b"# not the registry",
        }
    )
    with pytest.raises(ProjectError, match="twice"):
        read_archive(data)


def test_a_registry_answer_that_is_not_json_writes_nothing(project_dir: Path) -> None:
    project = read_project(project_dir)
    context = ".claude_tasks/contexts/backend_task_115_context.md"

    with pytest.raises(ProjectError, match="not valid JSON"):
        write_results(project, {context: "# Task"}, "# Task backend_task_115\n")

    assert project.registry_path.read_text() == project.registry_text
    assert not (project_dir / context).exists()
