"""Prometheus metrics: every process serves them at ``GET /metrics`` (docs/design.md §7).

The metric objects live in :mod:`shared.metrics.definitions` (one set per process, in
prometheus_client's default registry); :mod:`shared.metrics.scrape` runs the async
readers (pool, outbox backlog, job counts) when Prometheus scrapes; :mod:`shared.metrics.llm`
times model calls. Labels are bounded by construction: route templates, queue and outbox
names, status codes — never raw paths, ids or user input.
"""

from shared.metrics.definitions import (
    DB_POOL,
    DB_POOL_SIZE,
    MESSAGES_ACKED,
    MESSAGES_CONSUMED,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_REQUEUED,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PENDING,
    OUTBOX_PUBLISHED,
    REMINDER_LAG,
    REMINDERS_FIRED,
    observe_request,
    request_started,
)
from shared.metrics.endpoint import MetricsController
from shared.metrics.llm import observe_llm_call
from shared.metrics.scrape import ScrapeHook, pool_hook, register_scrape_hook, render

__all__ = [
    "DB_POOL",
    "DB_POOL_SIZE",
    "MESSAGES_ACKED",
    "MESSAGES_CONSUMED",
    "MESSAGES_DEAD_LETTERED",
    "MESSAGES_REQUEUED",
    "OUTBOX_OLDEST_AGE",
    "OUTBOX_PENDING",
    "OUTBOX_PUBLISHED",
    "REMINDERS_FIRED",
    "REMINDER_LAG",
    "MetricsController",
    "ScrapeHook",
    "observe_llm_call",
    "observe_request",
    "pool_hook",
    "register_scrape_hook",
    "render",
    "request_started",
]
