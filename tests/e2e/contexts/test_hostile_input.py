"""Hostile input at the contexts service: a body that is not UTF-8, NUL characters (in the
body, in a job's or a task's id in the path), cursors that decode to impossible values,
access tokens whose claims have the wrong type, registry task ids that cannot name a file.

Each is a 4xx in the error envelope, creates no job, and the very next normal request is
served. Every case is sent through the gateway and straight to the contexts service (which
verifies the token itself).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.contexts import JOBS, ContextsStack, flat_registry
from tests.support.hostile import (
    BAD_UTF8,
    JSON,
    WRONG_TYPED_CLAIMS,
    assert_bad_body,
    assert_field,
    check_forged_token_served,
    check_wrong_typed_claim,
    cursor,
    cursor_cases,
    ok,
    refused,
)
from tests.support.stack import JwtKeys, Stack, User, register_user


@pytest.fixture(scope="module")
def user(stack: Stack) -> User:
    return register_user(stack.gateway.url)


@pytest.fixture(scope="module")
def job_id(contexts_stack: ContextsStack, user: User) -> str:
    """A real job of ``user`` (its task ``backend_task_00000``)."""
    submitted = httpx.post(
        contexts_stack.gateway.url + JOBS,
        json={"registry": flat_registry(1)},
        headers=user.headers,
        timeout=30,
    )
    return str(ok(submitted, 202)["job_id"])


@pytest.fixture(params=["gateway", "contexts"])
def target(request: pytest.FixtureRequest, contexts_stack: ContextsStack) -> Iterator[httpx.Client]:
    """A client of the gateway, then of the contexts service's own port."""
    service = contexts_stack.gateway if request.param == "gateway" else contexts_stack.contexts
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def jobs_of(contexts_stack: ContextsStack, user: User) -> list[str]:
    """The ids of ``user``'s jobs, newest first."""
    page = httpx.get(
        contexts_stack.contexts.url + JOBS, params={"limit": 100}, headers=user.headers
    )
    return [item["job_id"] for item in ok(page)["items"]]


def submit_normally(client: httpx.Client, user: User) -> None:
    ok(client.post(JOBS, json={"registry": flat_registry(1)}, headers=user.headers), 202)


# -- 1. bodies that are not UTF-8 --------------------------------------------------------------
@pytest.mark.parametrize("bad", list(BAD_UTF8.values()), ids=list(BAD_UTF8))
def test_body_not_utf8(
    target: httpx.Client, contexts_stack: ContextsStack, user: User, bad: bytes
) -> None:
    before = jobs_of(contexts_stack, user)
    registry = json.dumps(flat_registry(1)).encode()
    body = b'{"registry": ' + registry + b', "documents": {"docs/a.md": "' + bad + b'"}}'
    headers = {**JSON, **user.headers}
    assert_bad_body(target.post(JOBS, content=body, headers=headers))
    assert jobs_of(contexts_stack, user) == before
    submit_normally(target, user)


# -- 2. NUL characters ------------------------------------------------------------------------
def _task(**changes: Any) -> dict[str, Any]:
    return {"tasks": [{**flat_registry(1)["tasks"][0], **changes}]}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"registry": _task(title="a\x00b")}, id="registry-value"),
        pytest.param({"registry": _task(id="backend\x00task")}, id="registry-task-id"),
        pytest.param({"registry": {**flat_registry(1), "a\x00b": 1}}, id="registry-key"),
        pytest.param(
            {"registry": flat_registry(1), "documents": {"docs/a.md": "a\x00b"}},
            id="document-content",
        ),
        pytest.param(
            {"registry": flat_registry(1), "documents": {"docs/a\x00b.md": "x"}},
            id="document-path",
        ),
        pytest.param({"registry": flat_registry(1), "options": {"a\x00b": True}}, id="options-key"),
    ],
)
def test_body_with_nul(
    target: httpx.Client, contexts_stack: ContextsStack, user: User, body: dict[str, Any]
) -> None:
    """Refused with 400 (the registry's and documents' NUL name the place in
    ``details.where`` or ``details.fields``: either is fine here)."""
    before = jobs_of(contexts_stack, user)
    refused(target.post(JOBS, json=body, headers=user.headers))
    assert jobs_of(contexts_stack, user) == before
    submit_normally(target, user)


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        pytest.param("GET", "{job}/contexts/a%00b", "task_id", id="task-id"),
        pytest.param("GET", "a%00b", "job_id", id="job-id"),
        pytest.param("POST", "a%00b/retry", "job_id", id="job-id-retry"),
    ],
)
def test_id_in_path_with_nul(
    target: httpx.Client,
    contexts_stack: ContextsStack,
    user: User,
    job_id: str,
    method: str,
    path: str,
    key: str,
) -> None:
    before = jobs_of(contexts_stack, user)
    response = target.request(method, f"{JOBS}/{path.format(job=job_id)}", headers=user.headers)
    assert_field(refused(response), "path", key=key)
    assert jobs_of(contexts_stack, user) == before
    ok(target.get(f"{JOBS}/{job_id}/contexts", headers=user.headers))


# -- 4. cursors that decode to impossible values -------------------------------------------
LEGAL_CURSOR = ["2024-05-01T10:00:00Z", str(uuid.uuid4())]


@pytest.mark.parametrize("parts", cursor_cases(LEGAL_CURSOR))
def test_impossible_cursor(target: httpx.Client, user: User, parts: list[Any]) -> None:
    response = target.get(JOBS, params={"cursor": cursor(parts)}, headers=user.headers)
    assert_field(refused(response), "query", key="cursor")
    ok(target.get(JOBS, headers=user.headers))


def test_a_legal_cursor_is_accepted(target: httpx.Client, user: User) -> None:
    """The shape above is right: with legal values, the same cursor is served."""
    ok(target.get(JOBS, params={"cursor": cursor(LEGAL_CURSOR)}, headers=user.headers))


# -- 5. access tokens whose claims have the wrong type --------------------------------------
@pytest.mark.parametrize("case", list(WRONG_TYPED_CLAIMS))
def test_wrong_typed_claim_is_401(
    target: httpx.Client, jwt_keys: JwtKeys, user: User, case: str
) -> None:
    check_wrong_typed_claim(
        lambda headers: target.get(JOBS, headers=headers), jwt_keys.private_pem, user, case
    )


def test_a_token_forged_with_valid_claims_is_accepted(
    target: httpx.Client, jwt_keys: JwtKeys, user: User
) -> None:
    check_forged_token_served(
        lambda headers: target.get(JOBS, headers=headers), jwt_keys.private_pem, user
    )


# -- 6. registry task ids that cannot name a file ------------------------------------------
@pytest.fixture(scope="module")
def newcomer(stack: Stack) -> User:
    """A user whose job list must stay empty."""
    return register_user(stack.gateway.url)


@pytest.mark.parametrize(
    "task_id",
    ["backend_task\n1", "backend_task\t1", "backend_task\x011", "backend_task\x7f1"],
    ids=["newline", "tab", "u0001", "u007f"],
)
def test_task_id_that_cannot_name_a_file(
    target: httpx.Client, contexts_stack: ContextsStack, newcomer: User, task_id: str
) -> None:
    response = target.post(JOBS, json={"registry": _task(id=task_id)}, headers=newcomer.headers)
    error = refused(response)
    assert "tasks[0]" in error["details"].get("where", ""), error
    assert jobs_of(contexts_stack, newcomer) == []
    ok(target.get(JOBS, headers=newcomer.headers))


def test_the_same_registry_with_a_plain_task_id_is_accepted(
    target: httpx.Client, user: User
) -> None:
    """The registry above qualifies: with an ordinary id, it is a job."""
    response = target.post(
        JOBS, json={"registry": _task(id="backend_task_1")}, headers=user.headers
    )
    job = ok(response, 202)
    assert job["total_tasks"] == 1 and job["not_qualifying"] == 0, job
