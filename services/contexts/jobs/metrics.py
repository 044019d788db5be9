"""``contexts_jobs{status}`` and ``contexts_tasks{status}``: what the queue holds, by status.

Read from the database at scrape time by the contexts process (not the worker, so the
counts are exported once per replica set). Counting every task is a scan of the tasks
table, so a result is reused for ``METRICS_COUNTS_INTERVAL`` seconds (15): scrapes close
together (several Prometheus replicas) cost one query.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contexts.models import JOB_STATUSES, TASK_STATUSES, JobModel, TaskModel
from shared.metrics import ScrapeHook

JOBS = Gauge("contexts_jobs", "Context-generation jobs by status.", ["status"])
TASKS = Gauge("contexts_tasks", "Context-generation tasks by status.", ["status"])


def job_counts_hook(engine: AsyncEngine, min_interval: float) -> ScrapeHook:
    last_try = -min_interval
    one_at_a_time = asyncio.Lock()

    async def read_counts() -> None:
        nonlocal last_try
        async with one_at_a_time:
            # The time of the attempt, not of success: counts too slow for the scrape's
            # time limit are not started again at every scrape.
            if time.monotonic() - last_try < min_interval:
                return
            last_try = time.monotonic()
            async with engine.connect() as conn:
                jobs = await _count_by_status(conn, JobModel)
                tasks = await _count_by_status(conn, TaskModel)
            # Every known status is exported, 0 included, so a rate or an alert never
            # sees a series vanish when the last job of a status moves on.
            for status in {*JOB_STATUSES, *jobs}:
                JOBS.labels(status).set(jobs.get(status, 0))
            for status in {*TASK_STATUSES, *tasks}:
                TASKS.labels(status).set(tasks.get(status, 0))

    return read_counts


async def _count_by_status(
    conn: AsyncConnection, model: type[JobModel] | type[TaskModel]
) -> dict[str, int]:
    rows = await conn.execute(select(model.status, func.count()).group_by(model.status))
    return {status: count for status, count in rows.tuples()}
