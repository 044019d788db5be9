"""Submitting jobs through the gateway: the 202 answer, listing, malformed input, limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.contexts import (
    JOBS,
    ContextsStack,
    expected,
    flat_registry,
    sample_request,
    submit,
)
from tests.support.samples import SAMPLES
from tests.support.stack import User, UserFactory

EXPECTED_JOB_FIELDS = {
    "job_id", "status", "total_tasks", "done", "failed", "skipped", "not_qualifying",
    "sub_batches", "batches", "by_type", "warnings", "created_at", "started_at", "finished_at",
}  # fmt: skip


@pytest.mark.parametrize("name", ["flat", "tree"])
def test_sample_is_accepted_with_its_plan(
    capi: httpx.Client, make_user: UserFactory, name: str
) -> None:
    want = expected(name)
    user = make_user()
    response = submit(capi, user, sample_request(name))
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"{JOBS}/{job['job_id']}"
    assert set(job) >= EXPECTED_JOB_FIELDS
    assert job["status"] in ("queued", "running")
    assert job["total_tasks"] == want["needs_context"]
    assert job["sub_batches"] == want["sub_batches"]
    assert job["by_type"] == want["by_kind"]
    assert sorted(job["skipped_tasks"]) == sorted(want["already_context_ready"])
    assert job["skipped"] == len(want["already_context_ready"])
    assert set(want["not_qualifying"]) <= set(job["not_qualifying_tasks"])
    assert job["not_qualifying"] == len(job["not_qualifying_tasks"])
    sizes = [batch["size"] for batch in job["batches"]]
    assert sum(sizes) == job["total_tasks"] and all(size <= 10 for size in sizes)
    assert [batch["index"] for batch in job["batches"]] == list(range(1, job["sub_batches"] + 1))
    for task_id in want["missing_spec"]:  # the missing-spec warning, naming the task
        assert any(task_id in warning for warning in job["warnings"]), job["warnings"]
    # The job as read back is the same job.
    again = capi.get(response.headers["location"], headers=user.headers)
    assert again.status_code == 200
    assert again.json()["total_tasks"] == job["total_tasks"]


def test_my_jobs_are_listed_newest_first_page_by_page(
    capi: httpx.Client, make_user: UserFactory
) -> None:
    user, other = make_user(), make_user()
    ids = [
        submit(capi, user, {"registry": flat_registry(n + 1)}).json()["job_id"] for n in range(3)
    ]
    submit(capi, other, {"registry": flat_registry(1)})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = capi.get(JOBS, params=params, headers=user.headers)
        assert page.status_code == 200, page.text
        seen += [item["job_id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    bad = capi.get(JOBS, params={"cursor": "not-a-cursor"}, headers=user.headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def _assert_refused(response: httpx.Response, where: str | None) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if where is not None:
        assert error["details"]["where"] == where, error


def _no_jobs(capi: httpx.Client, user: User) -> bool:
    return capi.get(JOBS, headers=user.headers).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"registry": "{not json"}, "registry"),
        ({"registry": []}, "$"),
        ({"registry": {"tasks": [{"id": 3}]}}, "$.tasks[0].id"),
        (
            {
                "registry": {
                    "tasks": [
                        {**flat_registry(1)["tasks"][0], "dependencies": ["backend_task_999"]}
                    ]
                }
            },
            "$.tasks[0].dependencies[0]",
        ),
        ({"registry": flat_registry(1), "documents": {"../../etc/passwd": "x"}}, None),
        ({"registry": flat_registry(1), "documents": {"/abs.md": "x"}}, None),
        ({"registry": flat_registry(1), "options": {"generator": "magic"}}, None),
        ({"documents": {}}, None),
    ],
)
def test_malformed_submission_is_400_with_the_place_and_creates_nothing(
    capi: httpx.Client, make_user: UserFactory, body: dict[str, Any], where: str | None
) -> None:
    user = make_user()
    _assert_refused(submit(capi, user, body), where)
    assert _no_jobs(capi, user)


def test_duplicate_task_ids_are_refused(capi: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    registry = flat_registry(3)
    registry["tasks"][2]["id"] = registry["tasks"][0]["id"]
    response = submit(capi, user, {"registry": registry})
    _assert_refused(response, None)
    assert response.json()["error"]["details"]["where"].startswith("$.tasks[2]")
    assert _no_jobs(capi, user)


def test_documents_over_five_mib_are_refused(capi: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    documents = {"docs/a.md": "a" * (3 * 1024 * 1024), "docs/b.md": "b" * (2 * 1024 * 1024 + 1)}
    response = submit(capi, user, {"registry": flat_registry(1), "documents": documents})
    _assert_refused(response, "documents")
    assert _no_jobs(capi, user)


def test_a_large_submission_passes_the_gateway(capi: httpx.Client, make_user: UserFactory) -> None:
    """Far above the gateway's 1 MiB default: job submission has its own limit."""
    user = make_user()
    documents = {"docs/prd.md": "# PRD\n\n" + "words " * (700 * 1024)}  # ~4 MiB
    response = submit(capi, user, {"registry": flat_registry(20), "documents": documents})
    assert response.status_code == 202, response.text[:500]
    assert response.json()["total_tasks"] == 20


def test_a_body_over_the_submission_limit_is_413(
    capi: httpx.Client, make_user: UserFactory, contexts_stack: ContextsStack
) -> None:
    user = make_user()
    huge = b'{"registry": {"tasks": []}, "documents": {"x.md": "' + b"x" * (17 * 1024 * 1024)
    headers = {**user.headers, "Content-Type": "application/json"}
    response = capi.post(JOBS, content=huge + b'"}}', headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # Other routes keep the default limit, including the job's own sub-routes.
    two_mib = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    retry = capi.post(f"{JOBS}/{'0' * 32}/retry", content=two_mib, headers=headers)
    assert retry.status_code == 413


def test_unauthenticated_requests_are_401(capi: httpx.Client) -> None:
    assert capi.post(JOBS, json={"registry": flat_registry(1)}).status_code == 401
    assert capi.get(JOBS).status_code == 401


def test_registry_sent_as_text_keeps_its_layout(capi: httpx.Client, make_user: UserFactory) -> None:
    """The registry file's text may be sent as a JSON string; it is kept as written."""
    user = make_user()
    text = (SAMPLES / "flat" / ".claude_tasks" / "task_registry.json").read_text()
    body = {**sample_request("flat"), "registry": text}
    response = submit(capi, user, body)
    assert response.status_code == 202, response.text
    assert response.json()["total_tasks"] == expected("flat")["needs_context"]
    registry = capi.get(f"{JOBS}/{response.json()['job_id']}/registry", headers=user.headers)
    assert registry.status_code == 200
    assert registry.text.splitlines()[:6] == text.splitlines()[:6]  # same indentation
