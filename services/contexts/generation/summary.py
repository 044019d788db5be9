"""The closing texts of a generation run: the summary with the run's real numbers, and the
message for a registry with nothing to generate."""

from __future__ import annotations

import msgspec

from services.contexts.generation.planned_task import KINDS
from services.contexts.generation.task_fields import CONTEXTS_DIR

NO_TASKS_TEXT = """\
No function tasks found needing context generation.
All tasks either:
  - Already have contexts (status = "context_ready")
  - Not yet decomposed to function level

Recommendation: Run /continue-decompose-backend first
"""

_KIND_TITLES = {
    "endpoint": "Endpoints",
    "service": "Services",
    "repository": "Repositories",
    "validator": "Validators",
    "util": "Utils",
}


class BatchResult(msgspec.Struct, array_like=True):
    index: int  # 1-based sub-batch number
    size: int
    done: int
    failed: int


class FileEntry(msgspec.Struct, array_like=True):
    context_file: str  # ".claude_tasks/contexts/backend_task_015_context.md" or its name
    function_name: str


class FailedTask(msgspec.Struct, array_like=True):
    task_id: str
    reason: str


class SummaryInput(msgspec.Struct, kw_only=True):
    total: int
    batches: list[BatchResult]
    by_type: dict[str, int]  # contexts generated per function type
    files: list[FileEntry]  # the generated files, in registry order
    failed: list[FailedTask] = msgspec.field(default_factory=list)
    next_command: str = "/build-deps-fullstack"

    def __post_init__(self) -> None:
        # Plain tuples are accepted too: (index, size, done, failed), (file, function)...
        self.batches = [b if isinstance(b, BatchResult) else BatchResult(*b) for b in self.batches]
        self.files = [f if isinstance(f, FileEntry) else FileEntry(*f) for f in self.files]
        self.failed = [f if isinstance(f, FailedTask) else FailedTask(*f) for f in self.failed]


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _batch_line(batch: BatchResult) -> str:
    line = f"  Sub-batch {batch.index}: {batch.done}/{batch.size} contexts"
    if batch.failed:
        return f"{line} ✗ ({batch.failed} failed)"
    if batch.done < batch.size:
        return f"{line} (in progress)"
    return f"{line} ✓"


def _file_name(path: str) -> str:
    prefix = CONTEXTS_DIR + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def summary_text(s: SummaryInput) -> str:
    """The "=== Backend Context Generation Summary ===" block for this run."""
    done = sum(batch.done for batch in s.batches) if s.batches else len(s.files)
    lines = [
        "=== Backend Context Generation Summary ===",
        "",
        f"Total function tasks: {s.total}",
        f"Sub-batches processed: {len(s.batches)}",
        "",
        "Sub-batch Results:",
        *[_batch_line(batch) for batch in s.batches],
        "",
    ]
    if done == s.total and not s.failed:
        lines.append(f"✓ ALL contexts generated: {done}/{s.total} (100% coverage)")
    else:
        coverage = 100 * done / s.total if s.total else 0.0
        lines.append(f"✗ Contexts generated: {done}/{s.total} ({coverage:.1f}% coverage)")
    lines += ["", "Context files by type:"]
    lines += [
        f"  {_KIND_TITLES[kind]}: {_count(s.by_type.get(kind, 0), 'context')}" for kind in KINDS
    ]
    lines += ["", f"Context files created in: {CONTEXTS_DIR}/"]
    lines += [f"  - {_file_name(f.context_file)} ({f.function_name})" for f in s.files]
    lines.append(f"  ({len(s.files)} total)")
    if s.failed:
        lines += ["", f"Failed tasks ({len(s.failed)}):"]
        lines += [f"  - {f.task_id}: {f.reason}" for f in s.failed]
    lines += ["", f'Updated task statuses: {_count(done, "task")} → "context_ready"', ""]
    if done == s.total and not s.failed:
        lines += [
            "✓ Backend functions ready for TDD development",
            "",
            f"Next command: {s.next_command}",
        ]
    else:
        missing = s.total - done
        lines.append(
            f"✗ {_count(missing, 'context')} missing: retry the failed tasks, then run "
            f"{s.next_command}"
        )
    return "\n".join(lines) + "\n"
