"""Dead letters of the worker's queue: a message it cannot read is dead-lettered with a
reason and the worker goes on; work the broker gives up on fails its task, so the job
finishes and can be retried."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import httpx
import msgspec
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from services.contexts.queues import GENERATE_DELIVERY_LIMIT, GENERATE_QUEUE, TASK_REQUESTED
from shared.consumer import REASON_HEADER
from shared.messaging import Envelope, connect, dead_letter_queue_name, to_message
from tests.support.contexts import (
    JOBS,
    ContextsStack,
    StartWorker,
    flat_registry,
    submit,
    wait_finished,
)
from tests.support.rabbit import Vhost, death_reason, get_message
from tests.support.stack import UserFactory


async def test_unreadable_work_is_dead_lettered_with_a_reason_and_jobs_still_complete(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    needs_worker: None,
    vhost: Vhost,
) -> None:
    not_json = aio_pika.Message(b"generate backend_task_001 please", content_type="text/plain")
    no_task = to_message(Envelope(type=TASK_REQUESTED, data={"job_id": str(uuid.uuid4())}))
    conn = await connect(vhost.url, name="test-producer")
    try:
        async with conn.channel() as channel:
            for message in (not_json, no_task):
                await channel.default_exchange.publish(message, GENERATE_QUEUE, mandatory=True)
            dead = await channel.get_queue(dead_letter_queue_name(GENERATE_QUEUE))
            reasons = {}
            for _ in range(2):
                message = await get_message(dead, timeout=15)
                reasons[message.body] = str(message.headers[REASON_HEADER])
                assert message.headers["x-original-routing-key"] == GENERATE_QUEUE
                await message.ack()
    finally:
        await conn.close()
    assert "content type" in reasons[not_json.body]
    assert "task_id" in reasons[no_task.body]

    # The worker goes on with real work.
    user = make_user()
    response = submit(capi, user, {"registry": flat_registry(12)})
    assert response.status_code == 202, response.text
    job = wait_finished(capi, user, response.json()["job_id"])
    assert (job["status"], job["done"], job["failed"]) == ("completed", 12, 0)


async def next_message(queue: AbstractQueue) -> AbstractIncomingMessage | None:
    """The next message of ``queue`` (unacked); None once nothing came for two seconds."""
    for _ in range(100):
        message = await queue.get(no_ack=False, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.02)
    return None


async def test_work_that_reaches_the_delivery_limit_fails_its_task_and_a_retry_completes_it(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    own_workers: StartWorker,
    vhost: Vhost,
) -> None:
    user = make_user()
    response = submit(capi, user, {"registry": flat_registry(2)})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    # No worker runs: a consumer that dies on the first task's work every time hands it
    # back until the broker gives up on it; the other task's work is left alone.
    doomed = "backend_task_00000"
    conn = await connect(vhost.url, name="test-crashing-consumer")
    try:
        async with conn.channel() as channel:
            queue = await channel.get_queue(GENERATE_QUEUE)
            others = []  # held unacked meanwhile, handed back once the broker gave up
            returned = 0
            while (message := await next_message(queue)) is not None:
                if msgspec.json.decode(message.body)["data"]["task_id"] == doomed:
                    await message.nack(requeue=True)
                    returned += 1
                else:
                    others.append(message)
            assert GENERATE_DELIVERY_LIMIT <= returned <= GENERATE_DELIVERY_LIMIT + 1
            dead = await channel.get_queue(dead_letter_queue_name(GENERATE_QUEUE))
            kept = await get_message(dead, timeout=15)  # people still find it there
            assert msgspec.json.decode(kept.body)["data"]["task_id"] == doomed
            assert death_reason(kept) == "delivery_limit"
            await kept.nack(requeue=True)
            for message in others:
                await message.nack(requeue=True)
    finally:
        await conn.close()

    own_workers()
    job = await asyncio.to_thread(wait_finished, capi, user, job_id, 60)
    assert (job["status"], job["done"], job["failed"]) == ("completed_with_errors", 1, 1)
    summary = capi.get(f"{JOBS}/{job_id}/summary", headers=user.headers)
    assert doomed in summary.text and "delivery limit reached" in summary.text, summary.text

    retried = capi.post(f"{JOBS}/{job_id}/retry", headers=user.headers)
    assert retried.status_code == 202, retried.text
    job = await asyncio.to_thread(wait_finished, capi, user, job_id, 60)
    assert (job["status"], job["done"], job["failed"]) == ("completed", 2, 0)
