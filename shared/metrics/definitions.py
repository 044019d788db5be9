"""The metrics every process may export, created once per process.

prometheus_client adds ``_total`` to counter names, so ``Counter("http_requests")`` is
scraped as ``http_requests_total``. A process exports only the series it has touched
(a counter with labels appears with its first increment).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Methods outside this set (anything a client may send) are counted as "other", so the
# method label cannot grow without bound.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request until its response headers are sent (a stream counts its "
    "time to open), by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being handled right now.")

DB_POOL = Gauge("db_pool_connections", "Pooled database connections by state.", ["state"])
DB_READER_POOL = Gauge(
    "db_reader_pool_connections", "Connections of the hot-path readers' pool by state.", ["state"]
)
DB_POOL_SIZE = Gauge("db_pool_size", "Configured size of the database connection pool.")

OUTBOX_PENDING = Gauge("outbox_pending_rows", "Outbox rows not yet published.", ["outbox"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none waits).",
    ["outbox"],
)
OUTBOX_PUBLISHED = Counter(
    "outbox_published", "Outbox rows published with a broker confirm.", ["outbox"]
)

MESSAGES_CONSUMED = Counter("messages_consumed", "Deliveries received.", ["queue"])
MESSAGES_ACKED = Counter("messages_acked", "Deliveries acknowledged (done with).", ["queue"])
MESSAGES_REQUEUED = Counter(
    "messages_requeued", "Deliveries given back to the queue to be tried again.", ["queue"]
)
MESSAGES_DEAD_LETTERED = Counter(
    "messages_dead_lettered",
    "Deliveries copied to a dead-letter queue by the consumer (unreadable or refused).",
    ["queue"],
)

REMINDERS_FIRED = Counter(
    "todo_reminders_fired",
    "Todo reminders fired (their event written to the outbox), late ones apart.",
    ["late"],
)
REMINDER_LAG = Histogram(
    "todo_reminder_lag_seconds",
    "Time from a reminder's remind_at until it fired.",
    buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 30.0, 300.0, 3600.0),
)

LLM_DURATION = Histogram(
    "llm_request_duration_seconds",
    "Model (chat-completions) requests by caller and outcome.",
    ["caller", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
)
LLM_ERRORS = Counter("llm_errors", "Failed model requests by caller and kind.", ["caller", "kind"])


def request_started() -> None:
    IN_PROGRESS.inc()


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count a finished request (and end its in-progress mark)."""
    IN_PROGRESS.dec()
    labels = (method if method in KNOWN_METHODS else "other", route or UNMATCHED_ROUTE, status)
    series = _request_series.get(labels)
    if series is None:  # the label sets are bounded: known methods, route templates
        text = (*labels[:2], str(status))
        series = _request_series[labels] = (REQUESTS.labels(*text), REQUEST_DURATION.labels(*text))
    series[0].inc()
    series[1].observe(seconds)


# Each request's series, looked up once: ``labels()`` takes a lock and builds a key on
# every call, and this runs for every request.
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
