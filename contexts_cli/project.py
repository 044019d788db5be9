"""The project folder the ``contexts`` CLI works on: what it reads and what it writes.

Read: ``.claude_tasks/task_registry.json`` and the documents it refers to (the files of
every ``spec_refs`` entry, anchors dropped, plus ``docs/prd.md`` and
``docs/fullstack-architecture.md`` when present). Written: the generated context files
under ``.claude_tasks/contexts/`` and the updated registry, with the previous registry
kept beside it as ``task_registry.json.bak``. Nothing is ever written outside
``.claude_tasks/``, whatever names the archive holds.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

TASKS_DIR = ".claude_tasks"
REGISTRY_NAME = "task_registry.json"
BACKUP_SUFFIX = ".bak"
CONTEXTS_DIR = "contexts"
ALWAYS_SENT = ("docs/prd.md", "docs/fullstack-architecture.md")


class ProjectError(Exception):
    """The project folder cannot be used as it is; the message says what to fix."""


@dataclass
class Project:
    root: Path
    registry_text: str
    registry: Any
    documents: dict[str, str] = field(default_factory=dict)
    missing_documents: list[str] = field(default_factory=list)

    @property
    def registry_path(self) -> Path:
        return self.root / TASKS_DIR / REGISTRY_NAME

    def job_body(self, *, generator: str, regenerate: bool) -> dict[str, Any]:
        """The body of ``POST /api/v1/contexts/jobs`` (and of an AMQP submit message).

        The registry goes as the file's text: the service keeps it byte for byte and
        writes the statuses back in the same layout, so the file changes only where it
        must."""
        return {
            "registry": self.registry_text,
            "documents": self.documents,
            "options": {"generator": generator, "regenerate": regenerate},
        }


def read_project(root: Path) -> Project:
    """Read the registry and its documents from ``root``; :class:`ProjectError` if unusable."""
    if not root.is_dir():
        raise ProjectError(f"{root} is not a directory")
    path = root / TASKS_DIR / REGISTRY_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(f"no task registry at {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read {path}: {exc}") from exc
    try:
        registry = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    project = Project(root=root, registry_text=text, registry=registry)
    referenced = referenced_documents(registry)
    for relative in [*referenced, *(path for path in ALWAYS_SENT if path not in referenced)]:
        document = _inside(root, relative)
        if document is None or not document.is_file():
            if relative in referenced:  # the two usual documents are optional
                project.missing_documents.append(relative)
            continue
        project.documents[relative] = document.read_text(encoding="utf-8", errors="replace")
    return project


def referenced_documents(registry: Any) -> list[str]:
    """Every file a ``spec_refs`` entry names (anchor dropped), wherever the registry shape
    puts the entries, in order of first mention."""
    found: dict[str, None] = {}
    for ref in _spec_refs(registry):
        path = ref.split("#", 1)[0].strip()
        if path:
            found.setdefault(str(PurePosixPath(path)), None)
    return list(found)


def _spec_refs(value: Any) -> list[str]:
    refs: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key == "spec_refs" and isinstance(child, list):
                    refs.extend(ref for ref in child if isinstance(ref, str))
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return refs


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (a registry may name anything)."""
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root.resolve()) else None


@dataclass
class Written:
    contexts: list[Path] = field(default_factory=list)
    registry_updated: bool = False
    backup: Path | None = None


def write_results(project: Project, contexts: dict[str, str], registry_text: str) -> Written:
    """Write the context files (relative paths under ``.claude_tasks/``) and the registry.

    The old registry is copied to ``task_registry.json.bak`` first, and only when the new
    one differs: a run that generated nothing must not overwrite the backup of the run
    before it with an identical copy.
    """
    written = Written()
    try:  # checked before anything is written: the user's registry is not replaced by junk
        json.loads(registry_text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"the service's updated registry is not valid JSON ({exc.msg}); nothing written"
        ) from None
    tasks_dir = project.root / TASKS_DIR
    for relative, markdown in sorted(contexts.items()):
        target = _context_target(tasks_dir, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, markdown)
        written.contexts.append(target)
    if registry_text != project.registry_text:
        backup = project.registry_path.with_name(REGISTRY_NAME + BACKUP_SUFFIX)
        _write_atomically(backup, project.registry_text)
        _write_atomically(project.registry_path, registry_text)
        written.registry_updated, written.backup = True, backup
    return written


def _context_target(tasks_dir: Path, relative: str) -> Path:
    """Where a context file goes: a markdown file under ``.claude_tasks/contexts/``."""
    parts = PurePosixPath(relative).parts
    if parts and parts[0] == TASKS_DIR:
        parts = parts[1:]
    if len(parts) == 1:  # a bare file name: the contexts folder is meant
        parts = (CONTEXTS_DIR, *parts)
    if not parts or parts[0] != CONTEXTS_DIR or not relative.endswith(".md"):
        raise ProjectError(f"refusing to write {relative!r}: not a context file")
    target = tasks_dir.joinpath(*parts).resolve()
    if ".." in parts or not target.is_relative_to((tasks_dir / CONTEXTS_DIR).resolve()):
        raise ProjectError(f"refusing to write {relative!r}: outside {TASKS_DIR}/contexts")
    return target


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def read_archive(data: bytes) -> tuple[dict[str, str], str | None]:
    """The context files (path under ``.claude_tasks/`` -> markdown) and the registry text
    in a ``.tar.gz`` from ``GET .../archive``; links and anything else are ignored. A name
    that occurs twice makes the archive unusable (which copy would be meant?)."""
    contexts: dict[str, str] = {}
    registry: str | None = None
    seen: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            parts = PurePosixPath(member.name).parts
            if parts and parts[0] == ".":
                parts = parts[1:]
            if len(parts) < 2 or parts[0] != TASKS_DIR or ".." in parts:
                continue
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            text = extracted.read().decode("utf-8", errors="replace")
            inner = "/".join(parts[1:])
            if inner in seen:
                raise ProjectError(f"the archive holds {TASKS_DIR}/{inner} twice; nothing written")
            seen.add(inner)
            if inner == REGISTRY_NAME:
                registry = text
            elif parts[1] == CONTEXTS_DIR and inner.endswith(".md"):
                contexts[inner] = text
    return contexts, registry
