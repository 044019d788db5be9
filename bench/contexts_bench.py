"""`make bench` (contexts): a 10,000-task context-generation job, submit -> completed.

Starts its own contexts service and workers against a fresh database and RabbitMQ vhost,
submits a job of BENCH_CONTEXTS_TASKS qualifying tasks (template generator) straight to the
contexts service (what is measured is the pipeline, not the gateway's proxying of a body
of megabytes), and measures until the job is completed: first with one worker, then with
two. Each timed job starts on a settled database (VACUUM ANALYZE), whatever came before.
The yardstick is the raw rate of the same machine with aio-pika alone: publish the same
number of task messages to a quorum queue (persistent, with confirms, 100 in flight) and
consume them (prefetch 10, acked ten at a time). Prints the figures and writes them to
bench/results/.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch import (  # noqa: E402
    CpuMeter,
    peak_rss_mib,
    reset_peak_rss,
    scratch_environment,
    write_results,
)

from contexts_cli.progress import REFRESH_INTERVAL  # noqa: E402
from services.contexts.generation.planned_task import KINDS  # noqa: E402
from services.contexts.queues import TASK_REQUESTED  # noqa: E402
from services.contexts.schemas import FINISHED_STATUSES as FINISHED  # noqa: E402
from shared.messaging import Envelope, to_message  # noqa: E402
from shared.tokens import TokenIssuer  # noqa: E402
from tests.support.processes import ServiceProcess, start_service  # noqa: E402
from tests.support.rabbit import scratch_vhost  # noqa: E402

TASKS = int(os.environ.get("BENCH_CONTEXTS_TASKS", "10000"))
# Jobs of these sizes with one worker: time should grow linearly, memory stay bounded.
SERIES = [int(n) for n in os.environ.get("BENCH_CONTEXTS_SERIES", "1000,10000,50000").split(",")]
# The largest job is above the default limits (20,000 tasks, 10 MiB of registry).
LIMITS = {
    "MAX_REGISTRY_TASKS": str(max([*SERIES, TASKS])),
    "MAX_REGISTRY_BYTES": str(64 * 2**20),
    "MAX_BODY_BYTES": str(80 * 2**20),
}
JOB_TIMEOUT = float(os.environ.get("BENCH_CONTEXTS_TIMEOUT", "1800"))


def registry(count: int) -> dict[str, Any]:
    """A flat registry of ``count`` qualifying function tasks (small, all kinds)."""
    return {
        "tasks": [
            {
                "id": f"backend_task_{n:05d}",
                "title": f"Implement step{n}",
                "category": "backend",
                "type": "function",
                "level": 3,
                "status": "ready",
                "function": {"name": f"step{n}", "kind": KINDS[n % 5], "module": "bench"},
                "dependencies": [f"backend_task_{n - 1:05d}"] if n % 10 else [],
            }
            for n in range(count)
        ]
    }


async def settle(database_url: str) -> None:
    """VACUUM ANALYZE the scratch database, so that every timed job starts from the same
    state instead of sharing the CPU with autovacuum cleaning up after the job before it (a
    50,000-task job leaves 50,000 updated rows behind)."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()


def run_job(
    token: str, body: dict[str, Any], contexts: ServiceProcess, **workers: ServiceProcess
) -> dict[str, Any]:
    """Submit ``body`` (on a settled database) and wait until the job is finished; the
    timings, and the CPU per task of the processes, PostgreSQL and RabbitMQ."""
    asyncio.run(settle(contexts.env["DATABASE_URL"]))
    pids = {"contexts": contexts.process.pid} | {n: w.process.pid for n, w in workers.items()}
    meter = CpuMeter(pids).start()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=contexts.url, headers=headers, timeout=300) as api:
        started = time.perf_counter()
        accepted = api.post("/api/v1/contexts/jobs", json=body)
        accepted.raise_for_status()
        intake = time.perf_counter() - started
        job_id = accepted.json()["job_id"]
        while True:
            job = api.get(f"/api/v1/contexts/jobs/{job_id}").json()
            if job["status"] in FINISHED:
                break
            if time.perf_counter() - started > JOB_TIMEOUT:
                raise RuntimeError(f"job not finished in {JOB_TIMEOUT}s: {job}")
            time.sleep(REFRESH_INTERVAL)  # how often the contexts CLI reads a running job
        total = time.perf_counter() - started
    if job["status"] != "completed" or job["done"] != len(body["registry"]["tasks"]):
        raise RuntimeError(f"job did not complete cleanly: {job['status']}, {job['failed']} failed")
    return {
        "seconds": round(total, 2),
        "intake_seconds": round(intake, 2),
        "tasks_per_second": round(job["done"] / total, 1),
        "cpu_ms_per_task": meter.per(job["done"]),
    }


async def yardstick(amqp_url: str, count: int) -> dict[str, Any]:
    """Publish and consume ``count`` task messages with aio-pika alone."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            "bench.yardstick", durable=True, arguments={"x-queue-type": "quorum"}
        )
        user_id = uuid.uuid4()
        messages = [
            to_message(
                Envelope(
                    type=TASK_REQUESTED,
                    user_id=user_id,
                    data={"job_id": str(user_id), "task_id": f"backend_task_{n:05d}"},
                )
            )
            for n in range(count)
        ]
        meter = CpuMeter(this_process=True).start()  # the broker and this client
        started = time.perf_counter()
        for chunk in range(0, count, 100):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(message, queue.name)
                    for message in messages[chunk : chunk + 100]
                )
            )
        published = time.perf_counter() - started

        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=10)
        source = await consumer.get_queue(queue.name)
        received = 0
        started = time.perf_counter()
        async with source.iterator() as incoming:
            async for message in incoming:
                received += 1
                if received % 10 == 0 or received == count:
                    await message.ack(multiple=True)
                if received == count:
                    break
        consumed = time.perf_counter() - started
        cpu = meter.per(count)
    return {
        "publish_per_second": round(count / published, 1),
        "consume_per_second": round(count / consumed, 1),
        "round_trip_seconds": round(published + consumed, 2),
        "cpu_ms_per_message": cpu,
    }


def job(count: int) -> dict[str, Any]:
    return {"registry": registry(count), "documents": {}, "options": {"generator": "template"}}


def main() -> dict[str, Any]:
    body = job(TASKS)
    print(f"contexts benchmark: {TASKS} tasks, template generator; series {SERIES}")
    with (
        scratch_vhost("tp_bench") as vhost,
        scratch_environment(
            "contexts", AMQP_URL=vhost.url, LOG_LEVEL="WARNING", **LIMITS
        ) as scratch,
    ):
        env, work = scratch.env, scratch.work
        token = TokenIssuer(
            scratch.private_key,
            issuer="todo-platform",
            audience="todo-platform-api",
            ttl_seconds=7200,
        ).issue(str(uuid.uuid4()))
        processes: list[ServiceProcess] = []
        try:
            contexts = start_service(
                "contexts", "services.contexts.app:create_app",
                {**env, "SERVICE_NAME": "contexts"}, work,
            )  # fmt: skip
            processes.append(contexts)
            worker_env = {**env, "SERVICE_NAME": "contexts-worker"}
            worker = "services.contexts.worker.app:create_app"
            first_worker = start_service("worker", worker, worker_env, work)
            processes.append(first_worker)
            series = {}
            for count in SERIES:
                for process in (contexts, first_worker):
                    reset_peak_rss(process.process.pid)
                run = run_job(token, job(count), contexts, worker=first_worker)
                run["contexts_peak_rss_mib"] = round(peak_rss_mib(contexts.process.pid), 1)
                run["worker_peak_rss_mib"] = round(peak_rss_mib(first_worker.process.pid), 1)
                series[count] = run
                print(
                    f"{count:>6} tasks, 1 worker: {run['seconds']:>8.2f} s, peak RSS contexts "
                    f"{run['contexts_peak_rss_mib']} MiB, worker {run['worker_peak_rss_mib']} MiB"
                )
            one = series.get(TASKS) or run_job(token, body, contexts, worker=first_worker)
            print(f"1 worker:  {one['seconds']:>8.2f} s  {one['tasks_per_second']:>8.1f} tasks/s")
            print(f"CPU per task (ms): {one['cpu_ms_per_task']}")
            second_worker = start_service("worker", worker, worker_env, work)
            processes.append(second_worker)
            two = run_job(token, body, contexts, worker=first_worker, worker_2=second_worker)
            print(f"2 workers: {two['seconds']:>8.2f} s  {two['tasks_per_second']:>8.1f} tasks/s")
        finally:
            for process in reversed(processes):
                process.stop()
        raw = asyncio.run(yardstick(vhost.url, TASKS))
    print(
        f"aio-pika alone: publish {raw['publish_per_second']:.0f}/s, "
        f"consume {raw['consume_per_second']:.0f}/s; CPU per message (ms): "
        f"{raw['cpu_ms_per_message']}"
    )
    result = {
        "scenario": f"context-generation job of {TASKS} tasks, submit -> completed",
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "tasks": TASKS,
        "one_worker": one,
        "series": series,
        "two_workers": two,
        "aio_pika_yardstick": raw,
    }
    return result


if __name__ == "__main__":
    write_results("contexts", main())
