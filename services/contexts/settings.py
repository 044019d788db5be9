"""Settings of the contexts service (environment variables; see the README)."""

from __future__ import annotations

from services.contexts.generation.registry_shapes import MAX_TASKS
from shared.settings import CommonSettings

MIB = 1024 * 1024


class ContextsSettings(CommonSettings, kw_only=True):
    service_name: str = "contexts"
    # The whole POST body: a 10 MiB registry plus 5 MiB of documents, JSON-escaped.
    max_body_bytes: int = 16 * MIB
    max_registry_bytes: int = 10 * MIB
    max_documents_bytes: int = 5 * MIB
    max_registry_tasks: int = MAX_TASKS
    # GET .../events: seconds between looks at the job's progress in the database, and
    # between keep-alive comments on a quiet stream (below the gateway's upstream timeout).
    events_poll_interval: float = 0.5
    events_heartbeat: float = 10.0
    # Work messages published per relay round (each is one task).
    work_relay_batch_size: int = 500
    # Seconds a scrape reuses the job/task counts (each count scans the tasks table).
    metrics_counts_interval: float = 15.0
