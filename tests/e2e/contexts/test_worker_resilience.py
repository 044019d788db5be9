"""The contexts worker as real processes: killed, stopped, and run as several replicas.

Jobs go in through the gateway; the worker processes are ours (started in process groups
of their own, so ``kill -9`` takes granian and its worker child down together). The run's
default worker is stopped while these tests own the queue, and restarted afterwards.
What a user must never see: a task lost, or a task with two contexts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from sqlalchemy.engine import make_url

from services.contexts.generation.generators import TemplateGenerator
from services.contexts.generation.planned_task import PlannedTask
from tests.support.contexts import (
    JOBS,
    ContextsStack,
    flat_registry,
    submit,
    wait_finished,
)
from tests.support.openai_server import OpenAIServer, Reply, delayed, text_reply
from tests.support.processes import ServiceProcess, start_service
from tests.support.rabbit import Vhost, rabbitmqctl
from tests.support.stack import User, UserFactory

WORKER_FACTORY = "services.contexts.worker.app:create_app"
StartWorker = Callable[..., ServiceProcess]


@pytest.fixture
def own_workers(contexts_stack: ContextsStack) -> Iterator[StartWorker]:
    """Start workers of this test only; the stack's workers are stopped meanwhile."""
    for worker in contexts_stack.workers:
        worker.stop()
    mine: list[ServiceProcess] = []

    def start(**overrides: str) -> ServiceProcess:
        env = {**contexts_stack.env, "SERVICE_NAME": "contexts-worker"}
        env.update({key.upper(): value for key, value in overrides.items()})
        worker = start_service(
            "contexts-worker", WORKER_FACTORY, env, contexts_stack.log_dir, own_group=True
        )
        mine.append(worker)
        return worker

    yield start
    for worker in mine:
        worker.stop()
    contexts_stack.workers[:] = [w for w in contexts_stack.workers if w.process.poll() is None]
    contexts_stack.start_worker()  # the run's default worker, for the tests that follow


# -- looking inside ------------------------------------------------------------------------
async def fetch(stack: ContextsStack, query: str, *args: Any) -> list[asyncpg.Record]:
    url = make_url(stack.env["DATABASE_URL"]).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def done_count(stack: ContextsStack, job_id: str) -> int:
    rows = await fetch(stack, "SELECT done FROM contexts.jobs WHERE id = $1", uuid.UUID(job_id))
    return int(rows[0]["done"])


async def wait_done_at_least(
    stack: ContextsStack, job_id: str, count: int, timeout: float = 60
) -> int:
    deadline = time.monotonic() + timeout
    while (done := await done_count(stack, job_id)) < count:
        assert time.monotonic() < deadline, f"only {done} tasks done in {timeout}s"
        time.sleep(0.02)
    return done


async def assert_exactly_one_context_per_task(
    stack: ContextsStack, job_id: str, total: int
) -> None:
    """Every task stored once: done, with markdown, generated in one committed attempt;
    and one ``completed`` event written for the job."""
    rows = await fetch(
        stack,
        "SELECT task_id, status, attempts, markdown FROM contexts.tasks WHERE job_id = $1",
        uuid.UUID(job_id),
    )
    assert len(rows) == total and len({row["task_id"] for row in rows}) == total
    assert {(row["status"], row["attempts"]) for row in rows} == {("done", 1)}
    assert all(row["task_id"] in row["markdown"] for row in rows)
    completed = await fetch(
        stack,
        "SELECT count(*) AS n FROM contexts.outbox "
        "WHERE type = 'contexts.job.completed' AND payload->'data'->>'job_id' = $1",
        job_id,
    )
    assert completed[0]["n"] == 1


def queue_depth(vhost: Vhost, queue: str) -> tuple[int, int]:
    """(ready, unacked) messages of ``queue``, as the broker counts them."""
    out = rabbitmqctl(
        "list_queues", "-p", vhost.name, "name", "messages_ready",
        "messages_unacknowledged", "--formatter", "json",
    )  # fmt: skip
    for row in json.loads(out):
        if row["name"] == queue:
            return int(row["messages_ready"]), int(row["messages_unacknowledged"])
    raise KeyError(queue)


def wait_queue(
    vhost: Vhost, queue: str, ready_ok: Callable[[int], bool], timeout: float = 60
) -> None:
    """Wait until nothing of ``queue`` is unacked and ``ready_ok(messages ready)``."""
    deadline = time.monotonic() + timeout
    while True:
        ready, unacked = queue_depth(vhost, queue)
        if unacked == 0 and ready_ok(ready):
            return
        assert time.monotonic() < deadline, f"{queue}: {ready} ready, {unacked} unacked"
        time.sleep(0.5)


def submit_job(capi: httpx.Client, user: User, body: dict[str, Any]) -> str:
    response = submit(capi, user, body)
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


def batches_stored(worker: ServiceProcess, job_id: str) -> int:
    """Task rows this worker stored for ``job_id``, from its ``batch stored`` log lines."""
    stored = 0
    for line in worker.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "batch stored" and entry.get("job_ids") == [job_id]:
            stored += int(entry["rows_changed"])
    return stored


# -- the tests ------------------------------------------------------------------------------
async def test_a_job_completes_with_one_context_per_task_though_its_worker_is_killed_three_times(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    own_workers: StartWorker,
) -> None:
    user, total = make_user(), 500
    job_id = submit_job(capi, user, {"registry": flat_registry(total)})
    worker = own_workers()
    kills_mid_job = 0
    for threshold in (60, 180, 300):
        await wait_done_at_least(contexts_stack, job_id, threshold)
        worker.kill_hard()  # SIGKILL to granian and its worker: no cleanup, no acks
        kills_mid_job += await done_count(contexts_stack, job_id) < total
        worker = own_workers()
    assert kills_mid_job == 3  # every kill hit the job while it was running

    job = wait_finished(capi, user, job_id)
    assert (job["status"], job["done"], job["failed"]) == ("completed", total, 0)
    await assert_exactly_one_context_per_task(contexts_stack, job_id, total)
    listing = capi.get(f"{JOBS}/{job_id}/contexts", headers=user.headers)
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    assert len({item["task_id"] for item in items}) == len(items) == total
    assert {item["status"] for item in items} == {"done"}


async def test_two_workers_share_a_large_job(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    own_workers: StartWorker,
    vhost: Vhost,
) -> None:
    user, total = make_user(), 1000
    first, second = own_workers(), own_workers()
    for worker in (first, second):
        ready = httpx.get(f"{worker.url}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok", "checks": {"database": True, "broker": True}}
    job_id = submit_job(capi, user, {"registry": flat_registry(total)})
    job = wait_finished(capi, user, job_id)
    assert (job["status"], job["done"], job["failed"]) == ("completed", total, 0)
    await assert_exactly_one_context_per_task(contexts_stack, job_id, total)
    by_first, by_second = batches_stored(first, job_id), batches_stored(second, job_id)
    assert by_first > 0 and by_second > 0  # both replicas took part ...
    assert by_first + by_second == total  # ... and no task was stored by both
    # Copies published twice (the relay's delivery is at least once) are acked unchanged.
    wait_queue(vhost, "contexts.generate", lambda ready: ready == 0)


async def test_sigterm_finishes_the_batch_in_flight_and_loses_nothing(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    own_workers: StartWorker,
    vhost: Vhost,
) -> None:
    user, total = make_user(), 40
    job_id = submit_job(
        capi, user, {"registry": flat_registry(total), "options": {"generator": "llm"}}
    )
    rows = await fetch(
        contexts_stack,
        "SELECT task_id, spec FROM contexts.tasks WHERE job_id = $1",
        uuid.UUID(job_id),
    )
    documents = {row["task_id"]: await template_document(row["spec"]) for row in rows}

    def slow_model(body: dict[str, Any]) -> Reply:
        return delayed(1.5, text_reply(documents[_task_in(body, documents)]))

    with OpenAIServer(slow_model) as server:
        worker = own_workers(openai_base_url=server.base_url, openai_api_key="test")
        deadline = time.monotonic() + 30
        while len(server.requests) < 10:  # a whole batch is being generated
            assert time.monotonic() < deadline, "the worker never asked the model"
            time.sleep(0.05)
        worker.process.terminate()  # SIGTERM: granian ends the lifespan
        assert worker.process.wait(timeout=30) == 0
        in_flight = {
            t for t in documents if any(t in json.dumps(r["messages"]) for r in server.requests)
        }

    # The batch in flight was finished and stored; nothing else was touched or lost.
    stored = await fetch(
        contexts_stack,
        "SELECT task_id, status, attempts FROM contexts.tasks WHERE job_id = $1",
        uuid.UUID(job_id),
    )
    done = {row["task_id"] for row in stored if row["status"] == "done"}
    assert done == in_flight and len(done) >= 10
    assert {(r["status"], r["attempts"]) for r in stored if r["task_id"] not in done} <= {
        ("queued", 0)
    }
    # The rest waits in the queue for another worker (the broker's counts lag a little).
    wait_queue(vhost, "contexts.generate", lambda ready: ready >= total - len(done))
    assert "consumer stopped" in worker.log()

    # Another worker finishes the job: every task generated once.
    with OpenAIServer(lambda body: text_reply(documents[_task_in(body, documents)])) as server:
        own_workers(openai_base_url=server.base_url, openai_api_key="test")
        job = wait_finished(capi, user, job_id)
        assert len(server.requests) == total - len(done)
    assert (job["status"], job["done"], job["failed"]) == ("completed", total, 0)
    await assert_exactly_one_context_per_task(contexts_stack, job_id, total)


def _task_in(body: dict[str, Any], documents: dict[str, str]) -> str:
    prompt = json.dumps(body["messages"])
    (task_id,) = [task_id for task_id in documents if task_id in prompt]
    return task_id


async def template_document(spec: str | dict[str, Any]) -> str:
    """What the template generator writes for a task: a document that passes verification."""
    data = json.loads(spec) if isinstance(spec, str) else spec
    return await TemplateGenerator().generate(msgspec.convert(data, PlannedTask))
