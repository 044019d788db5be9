"""A message the worker cannot read is dead-lettered with a reason, and the worker goes on."""

from __future__ import annotations

import uuid

import aio_pika
import httpx

from services.contexts.queues import GENERATE_QUEUE, TASK_REQUESTED
from shared.consumer import REASON_HEADER
from shared.messaging import Envelope, connect, dead_letter_queue_name, to_message
from tests.conftest import UserFactory
from tests.e2e.contexts.conftest import ContextsStack, flat_registry, submit, wait_finished
from tests.support.rabbit import Vhost, get_message


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
