"""The project documents of the jobs a worker is busy with, cached per process.

Intake stores a job's documents once (``contexts.jobs.documents``); each task's spec only
points at its excerpts. A batch usually belongs to one or two jobs and consecutive batches
to the same ones, so the worker keeps the documents of the last few jobs it saw; they
never change after intake, so a cached copy is never stale.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import asyncpg

from services.contexts.worker.task_store import load_documents

# Jobs whose documents are kept (at most 5 MiB each, the intake limit).
CACHED_JOBS = 8


class JobDocuments:
    """Documents by job id: the cached ones, the others loaded in one query."""

    def __init__(self, capacity: int = CACHED_JOBS) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[uuid.UUID, Mapping[str, str]] = OrderedDict()

    async def of(
        self, connection: asyncpg.Connection, job_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, Mapping[str, str]]:
        wanted = set(job_ids)
        missing = wanted - self._cache.keys()
        loaded = await load_documents(connection, missing) if missing else {}
        found: dict[uuid.UUID, Mapping[str, str]] = {}
        for job_id in wanted:
            documents = loaded.get(job_id, self._cache.get(job_id))
            if documents is None:
                continue  # the job is gone: its tasks are acked without work
            found[job_id] = documents
            self._remember(job_id, documents)
        return found

    def _remember(self, job_id: uuid.UUID, documents: Mapping[str, str]) -> None:
        self._cache[job_id] = documents
        self._cache.move_to_end(job_id)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
