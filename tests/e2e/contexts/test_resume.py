"""After the worker is killed half-way, re-running the job generates only the rest.

The user's way to resume: take the job's updated registry (the tasks generated so far are
``context_ready``) and submit it again. The new job selects only the remaining tasks and
completes; the first job, once a worker runs again, completes too, and no task of either
job is generated twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from tests.support.contexts import (
    JOBS,
    ContextsStack,
    StartWorker,
    flat_registry,
    submit,
    wait_finished,
)
from tests.support.stack import UserFactory

TOTAL = 400


async def fetch(stack: ContextsStack, query: str, *args: Any) -> list[asyncpg.Record]:
    url = make_url(stack.env["DATABASE_URL"]).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def wait_done_at_least(stack: ContextsStack, job_id: str, count: int) -> None:
    deadline = time.monotonic() + 60
    query = "SELECT done FROM contexts.jobs WHERE id = $1"
    while (await fetch(stack, query, uuid.UUID(job_id)))[0]["done"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} tasks done in 60s"
        time.sleep(0.02)


async def generated_once(stack: ContextsStack, job_id: str) -> set[str]:
    """The job's tasks, each asserted stored once (done, in a single attempt)."""
    rows = await fetch(
        stack,
        "SELECT task_id, status, attempts FROM contexts.tasks WHERE job_id = $1",
        uuid.UUID(job_id),
    )
    assert {(row["status"], row["attempts"]) for row in rows} == {("done", 1)}
    return {row["task_id"] for row in rows}


def statuses(capi: httpx.Client, headers: dict[str, str], job_id: str) -> dict[str, str]:
    response = capi.get(f"{JOBS}/{job_id}/registry", headers=headers)
    assert response.status_code == 200, response.text
    return {task["id"]: task["status"] for task in response.json()["tasks"]}


async def test_resubmitting_after_the_worker_was_killed_generates_only_the_rest(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    own_workers: StartWorker,
) -> None:
    user = make_user()
    first = submit(capi, user, {"registry": flat_registry(TOTAL)})
    assert first.status_code == 202, first.text
    first_id = first.json()["job_id"]
    worker = own_workers()
    await wait_done_at_least(contexts_stack, first_id, TOTAL // 4)
    worker.kill_hard()  # SIGKILL to granian and its child: no cleanup, nothing acked
    job = capi.get(f"{JOBS}/{first_id}", headers=user.headers).json()
    assert job["status"] == "running" and 0 < job["done"] < TOTAL, job

    # The updated registry marks exactly what was generated; submitting it selects the rest.
    updated = capi.get(f"{JOBS}/{first_id}/registry", headers=user.headers).json()
    ready = {task["id"] for task in updated["tasks"] if task["status"] == "context_ready"}
    assert len(ready) == job["done"]
    second = submit(capi, user, {"registry": updated})
    assert second.status_code == 202, second.text
    resumed = second.json()
    assert resumed["total_tasks"] == TOTAL - len(ready)
    assert set(resumed["skipped_tasks"]) == ready

    own_workers()
    resumed = wait_finished(capi, user, resumed["job_id"])
    assert (resumed["status"], resumed["done"], resumed["failed"]) == (
        "completed",
        TOTAL - len(ready),
        0,
    )
    rest = await generated_once(contexts_stack, resumed["job_id"])
    assert rest.isdisjoint(ready) and len(rest | ready) == TOTAL
    assert set(statuses(capi, user.headers, resumed["job_id"]).values()) == {"context_ready"}

    # The first job's queued work was not lost with the worker: it completes as well.
    job = wait_finished(capi, user, first_id)
    assert (job["status"], job["done"], job["failed"]) == ("completed", TOTAL, 0)
    assert len(await generated_once(contexts_stack, first_id)) == TOTAL
