"""The ``contexts`` console script against the running stack, on copies of the samples."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import REPO_ROOT
from tests.support.contexts import ContextsStack, expected
from tests.support.samples import SAMPLES
from tests.support.stack import User, UserFactory

CONTEXTS = REPO_ROOT / ".venv" / "bin" / "contexts"
pytestmark = pytest.mark.usefixtures("needs_worker")


def copy_sample(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(SAMPLES / name, target)
    for path in target.rglob("*"):  # the samples are read-only; a project is not
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def run_cli(
    stack: ContextsStack, project: Path, user: User, *extra: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CONTEXTS), "generate", str(project), "--gateway-url", stack.gateway.url,
            "--email", user.email, "--password", password or user.password, *extra,
        ],
        capture_output=True, text=True, timeout=180, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def statuses(project: Path) -> dict[str, str]:
    """Task id -> status for every task of the project's registry (either shape)."""
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "id" in value and "status" in value:
                found[str(value["id"])] = str(value["status"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(json.loads((project / ".claude_tasks" / "task_registry.json").read_text()))
    return found


@pytest.mark.parametrize("sample", ["flat", "tree"])
def test_generate_writes_the_contexts_and_the_updated_registry(
    sample: str, contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    project = copy_sample(sample, tmp_path)
    original = (project / ".claude_tasks" / "task_registry.json").read_text()
    before = statuses(project)

    done = run_cli(contexts_stack, project, make_user())

    assert done.returncode == 0, done.stdout + done.stderr
    want = expected(sample)
    assert "=== Backend Context Generation Summary ===" in done.stdout
    assert f"Total function tasks: {want['needs_context']}" in done.stdout
    files = sorted((project / ".claude_tasks" / "contexts").glob("*.md"))
    assert len(files) == want["needs_context"]
    after = statuses(project)
    generated = {task for task, status in before.items() if after[task] != status}
    assert len(generated) == want["needs_context"]
    assert all(after[task] == "context_ready" for task in generated)
    assert all(before[task] == "ready" for task in generated)
    backup = project / ".claude_tasks" / "task_registry.json.bak"
    assert backup.read_text() == original
    for task in generated:  # every generated task has its file, and the file names it
        assert any(task in path.read_text() for path in files)


def test_running_again_generates_nothing_new(
    contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    user = make_user()
    project = copy_sample("flat", tmp_path)
    assert run_cli(contexts_stack, project, user).returncode == 0
    tasks_dir = project / ".claude_tasks"
    snapshot = {path: path.read_bytes() for path in tasks_dir.rglob("*") if path.is_file()}

    again = run_cli(contexts_stack, project, user)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 task(s)" in again.stdout
    assert {path: path.read_bytes() for path in tasks_dir.rglob("*") if path.is_file()} == snapshot


def test_via_amqp_submits_through_the_broker(
    contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    project = copy_sample("tree", tmp_path)

    done = run_cli(
        contexts_stack, project, make_user(), "--via", "amqp",
        "--amqp-url", contexts_stack.env["AMQP_URL"],
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list((project / ".claude_tasks" / "contexts").glob("*.md"))) == 16


def test_a_personal_access_token_replaces_email_and_password(
    contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    project = copy_sample("flat", tmp_path)
    made = httpx.post(
        f"{contexts_stack.gateway.url}/api/v1/auth/tokens",
        json={"name": "contexts CLI", "scopes": ["contexts"]},
        headers=make_user().headers,
    )
    assert made.status_code == 201, made.text
    env = {"PATH": "/usr/bin:/bin", "CONTEXTS_TOKEN": made.json()["token"]}

    done = subprocess.run(
        [str(CONTEXTS), "generate", str(project), "--gateway-url", contexts_stack.gateway.url],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        len(list((project / ".claude_tasks" / "contexts").glob("*.md")))
        == expected("flat")["needs_context"]
    )


def test_bad_credentials_exit_2_with_a_clear_message(
    contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    project = copy_sample("flat", tmp_path)
    user = make_user()

    done = run_cli(contexts_stack, project, user, password="not the password")

    assert done.returncode == 2
    assert f"login refused for {user.email}: wrong email or password" in done.stderr
    assert not (project / ".claude_tasks" / "contexts").exists()


def test_failed_tasks_exit_1_and_are_listed_with_their_reason(
    contexts_stack: ContextsStack, make_user: UserFactory, tmp_path: Path
) -> None:
    project = copy_sample("flat", tmp_path)  # the stack's worker has no model: llm fails

    done = run_cli(contexts_stack, project, make_user(), "--generator", "llm")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "completed_with_errors: 24 task(s) failed" in done.stdout
    assert "failed: backend_task_115 (reopenTodo): " in done.stdout
    assert statuses(project)["backend_task_115"] == "ready"
