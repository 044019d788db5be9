"""What the contexts processes export while a job runs: the work published and consumed,
the dead letters, and the jobs and tasks by status."""

from __future__ import annotations

import time

import aio_pika
import httpx

from services.contexts.queues import GENERATE_QUEUE
from shared.messaging import connect, dead_letter_queue_name
from tests.support.contexts import ContextsStack, flat_registry, submit, wait_finished
from tests.support.metrics import Sample, scrape, value
from tests.support.rabbit import Vhost, get_message
from tests.support.stack import UserFactory


def workers_metrics(stack: ContextsStack) -> list[Sample]:
    running = [worker for worker in stack.workers if worker.process.poll() is None]
    return [sample for worker in running for sample in scrape(worker.url)]


async def test_a_job_shows_in_the_queue_outbox_and_status_metrics(
    contexts_stack: ContextsStack,
    capi: httpx.Client,
    make_user: UserFactory,
    needs_worker: None,
    vhost: Vhost,
) -> None:
    service_before = scrape(contexts_stack.contexts.url)
    workers_before = workers_metrics(contexts_stack)

    user = make_user()
    response = submit(capi, user, {"registry": flat_registry(12)})
    assert response.status_code == 202, response.text
    job = wait_finished(capi, user, response.json()["job_id"])
    assert (job["status"], job["done"]) == ("completed", 12)

    conn = await connect(vhost.url, name="test-producer")
    try:
        async with conn.channel() as channel:
            garbage = aio_pika.Message(b"not an envelope", content_type="text/plain")
            await channel.default_exchange.publish(garbage, GENERATE_QUEUE, mandatory=True)
            dead = await channel.get_queue(dead_letter_queue_name(GENERATE_QUEUE))
            await (await get_message(dead, timeout=15)).ack()  # leave the dead queue as it was
    finally:
        await conn.close()

    service_after = scrape(contexts_stack.contexts.url)
    deadline = time.monotonic() + 10
    while True:  # the worker acks right after publishing the dead letter
        workers_after = workers_metrics(contexts_stack)
        acked = value(workers_after, "messages_acked_total", queue=GENERATE_QUEUE)
        if acked - value(workers_before, "messages_acked_total", queue=GENERATE_QUEUE) >= 13:
            break
        assert time.monotonic() < deadline, "the worker acked the job's work and the garbage"
        time.sleep(0.2)

    def delta(after: list[Sample], before: list[Sample], name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    queue = {"queue": GENERATE_QUEUE}
    assert delta(workers_after, workers_before, "messages_consumed_total", **queue) >= 13
    assert delta(workers_after, workers_before, "messages_dead_lettered_total", **queue) == 1
    work = {"outbox": "contexts.work_outbox"}
    assert delta(service_after, service_before, "outbox_published_total", **work) >= 12
    pending = [
        s.value for s in service_after if s.name == "outbox_pending_rows" and s.labels == work
    ]
    assert pending == [0]
    # Jobs and tasks by status, counted in the database at scrape time (other tests' jobs
    # may finish meanwhile, hence at least).
    completed = delta(service_after, service_before, "contexts_jobs", status="completed")
    assert completed >= 1
    assert delta(service_after, service_before, "contexts_tasks", status="done") >= 12
    statuses = {s.labels["status"] for s in service_after if s.name == "contexts_tasks"}
    assert statuses == {"queued", "done", "failed"}
