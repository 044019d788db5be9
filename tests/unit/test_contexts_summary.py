"""The generation summary block with a run's real numbers, and the no-tasks message."""

from __future__ import annotations

import msgspec

from services.contexts.generation.summary import (
    NO_TASKS_TEXT,
    BatchResult,
    FileEntry,
    SummaryInput,
    summary_text,
)


def test_summary_of_a_complete_run() -> None:
    text = summary_text(
        SummaryInput(
            total=13,
            batches=[BatchResult(1, 10, 10, 0), BatchResult(2, 3, 3, 0)],
            by_type={"endpoint": 5, "service": 4, "repository": 2, "validator": 1, "util": 1},
            files=[
                FileEntry(".claude_tasks/contexts/backend_task_015_context.md", "authenticateUser"),
                FileEntry(".claude_tasks/contexts/backend_task_016_context.md", "validateToken"),
            ],
        )
    )
    assert text == (
        "=== Backend Context Generation Summary ===\n"
        "\n"
        "Total function tasks: 13\n"
        "Sub-batches processed: 2\n"
        "\n"
        "Sub-batch Results:\n"
        "  Sub-batch 1: 10/10 contexts ✓\n"
        "  Sub-batch 2: 3/3 contexts ✓\n"
        "\n"
        "✓ ALL contexts generated: 13/13 (100% coverage)\n"
        "\n"
        "Context files by type:\n"
        "  Endpoints: 5 contexts\n"
        "  Services: 4 contexts\n"
        "  Repositories: 2 contexts\n"
        "  Validators: 1 context\n"
        "  Utils: 1 context\n"
        "\n"
        "Context files created in: .claude_tasks/contexts/\n"
        "  - backend_task_015_context.md (authenticateUser)\n"
        "  - backend_task_016_context.md (validateToken)\n"
        "  (2 total)\n"
        "\n"
        'Updated task statuses: 13 tasks → "context_ready"\n'
        "\n"
        "✓ Backend functions ready for TDD development\n"
        "\n"
        "Next command: /build-deps-fullstack\n"
    )


def test_summary_of_a_run_with_failures_shows_the_real_coverage() -> None:
    summary = msgspec.convert(
        {
            "total": 12,
            "batches": [[1, 10, 9, 1], [2, 2, 1, 1]],
            "by_type": {"endpoint": 10},
            "files": [[".claude_tasks/contexts/backend_1_1_1_context.md", "listActivity"]],
            "failed": [
                ["2.1.1", "verification failed: missing sections: Queries"],
                ["6.4.1", "model error: 502"],
            ],
        },
        SummaryInput,
    )
    text = summary_text(summary)
    assert "  Sub-batch 1: 9/10 contexts ✗ (1 failed)\n" in text
    assert "  Sub-batch 2: 1/2 contexts ✗ (1 failed)\n" in text
    assert "✗ Contexts generated: 10/12 (83.3% coverage)\n" in text
    assert "100% coverage" not in text and "ready for TDD" not in text
    assert "  Endpoints: 10 contexts\n  Services: 0 contexts\n" in text
    assert "  - backend_1_1_1_context.md (listActivity)\n" in text
    assert "Failed tasks (2):\n  - 2.1.1: verification failed: missing sections: Queries\n" in text
    assert 'Updated task statuses: 10 tasks → "context_ready"\n' in text
    assert "✗ 2 contexts missing: retry the failed tasks" in text


def test_no_tasks_text_comes_with_its_recommendation() -> None:
    assert NO_TASKS_TEXT.startswith("No function tasks found needing context generation.\n")
    assert '  - Already have contexts (status = "context_ready")\n' in NO_TASKS_TEXT
    assert NO_TASKS_TEXT.endswith("Recommendation: Run /continue-decompose-backend first\n")
