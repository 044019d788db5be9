"""Property-based fuzzing of the whole public API from its own document (schemathesis).

The last stage of a test run (see ``pytest_collection_modifyitems`` in tests/conftest.py):
every operation of the gateway's merged ``/schema/openapi.json``, against a full running
stack (gateway, todos, chat with its offline engine, contexts and a worker), as one user
registered and logged in through the gateway, who owns one of each resource. What is sent
and checked is in tests/fuzz/fuzzer.py, run in a process of its own (a fixed seed then
means the same requests in every run) and stopped if it outlives ``TIME_LIMIT``.

The figures (operations, requests by status, failures, time) are printed at the end of
the run (tests/fuzz/conftest.py); the test fails on any failure, listing each distinct one
with an example request (curl), the answer and what is wrong with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import httpx
import pytest

from shared.settings import REPO_ROOT
from tests.fuzz.fuzzer import BUDGET, Figures
from tests.support.full_stack import FullStack
from tests.support.fuzz_report import REPORT
from tests.support.stack import register_user

TIME_LIMIT = BUDGET + 90  # the whole stage: loading the document, the last requests, exit
REGISTRY = {
    "tasks": [
        {
            "id": "backend_task_00001",
            "title": "Implement step one",
            "category": "backend",
            "type": "function",
            "level": 3,
            "status": "ready",
            "function": {"name": "step_one", "kind": "service", "module": "bulk"},
            "dependencies": [],
        }
    ]
}
FINISHED = {"completed", "completed_with_errors", "failed"}


def user_with_resources(base_url: str) -> dict[str, Any]:
    """One user's token (register + login through the gateway) and one of each resource."""
    headers = register_user(base_url).headers
    with httpx.Client(base_url=base_url, timeout=30) as client:
        todo = client.post("/api/v1/todos", json={"title": "Fuzz me"}, headers=headers)
        assert todo.status_code == 201, todo.text
        turn = client.post("/api/v1/chat", json={"message": "list my todos"}, headers=headers)
        assert turn.status_code == 200, turn.text
        job = client.post("/api/v1/contexts/jobs", json={"registry": REGISTRY}, headers=headers)
        assert job.status_code == 202, job.text
        job_id = job.json()["job_id"]
        deadline = time.monotonic() + 60
        while (
            client.get(f"/api/v1/contexts/jobs/{job_id}", headers=headers).json()["status"]
            not in FINISHED
        ):
            assert time.monotonic() < deadline, "the fuzzer's job did not finish"
            time.sleep(0.2)
    return {
        "base_url": base_url,
        "authorization": headers["Authorization"],
        "ids": {
            "todo_id": todo.json()["id"],
            "conversation_id": turn.json()["conversation_id"],
            "job_id": job_id,
            "task_id": REGISTRY["tasks"][0]["id"],
        },
    }


@pytest.fixture(scope="module")
def fuzz_job(full_stack: FullStack) -> Iterator[dict[str, Any]]:
    full_stack.start_worker()  # submitted jobs are generated, as in production
    try:
        yield user_with_resources(full_stack.url)
    finally:
        full_stack.stop_workers()


def test_the_public_api_holds_under_fuzzing(fuzz_job: dict[str, Any]) -> None:
    try:
        ran = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.fuzzer"],
            input=json.dumps(fuzz_job),
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=TIME_LIMIT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fuzzer did not finish within {TIME_LIMIT:.0f}s")
    assert ran.returncode == 0, ran.stderr[-5000:]
    answer = json.loads(ran.stdout.strip().splitlines()[-1])
    figures = Figures(**{f.name: answer[f.name] for f in fields(Figures)})
    REPORT.append(figures)
    assert figures.operations > 25  # every service's operations are in the document
    assert figures.fuzzed == figures.operations - len(figures.excluded), "time budget spent"
    assert not figures.failures, "\n".join(figures.lines())
