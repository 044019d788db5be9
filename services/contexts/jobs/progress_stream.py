"""``GET /api/v1/contexts/jobs/{id}/events``: a job's progress as Server-Sent Events.

The stream looks at the job in the database every ``EVENTS_POLL_INTERVAL`` seconds (only
the job's counters while nothing moves) and sends, in this order within a look:

- ``event: task`` for each task that finished since the last look (done or failed), in
  the order they finished;
- ``event: batch`` for each sub-batch whose tasks have all finished;
- ``event: job`` once, when the job is finished: the final event, then the stream ends.

A client that connects late (or to a finished job) first gets everything that already
happened, so a progress bar can be drawn from the stream alone. A look reads one
snapshot of the job and only the tasks that finished past the last one told (a keyset on
``(finished_at, position)``), so a stream of a 20,000-task job reads each task about once.
When the snapshot's counters disagree with what the stream has told (a retry put failed
tasks back in the queue, or a worker's commit landed behind the cursor), the look reads
the job's finished tasks once more and tells what it had not: a task that fails again
after a retry is told again, and its sub-batch is announced again once it is complete.

Events carry an ``id``: their sequence number in the stream, and for the final event the
sequence number, ``-`` and the job's finish time in microseconds. A browser's EventSource
reconnecting with the final event's id gets 204, which ends its reconnect loop, as long
as the job has not run again since (a retried job finishes at another time). Quiet periods
get a comment line every ``EVENTS_HEARTBEAT`` seconds so proxies keep the connection
open. The stream also ends when the access token it was opened with expires (the client
reconnects with a new one).

:func:`open_stream` does all of this for the route (``jobs/controller.py``), which only
turns its answer into HTTP; the framing, heartbeats and end time are ``shared/sse.py``'s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.contexts.jobs import repository
from services.contexts.jobs.repository import FinishedKey
from services.contexts.jobs.service import Id, owned_job
from services.contexts.schemas import FINISHED_STATUSES
from services.contexts.settings import ContextsSettings
from shared import sse

CLIENT_RETRY_MS = 3000
MAX_STREAM_SECONDS = 24 * 3600  # a stream ends after a day, even if its token lives on
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TaskFinished(msgspec.Struct):
    task_id: str
    function_name: str
    type: str
    batch: int
    status: str
    error: str | None
    path: str
    done: int  # the job's counts once this task is counted
    failed: int
    total_tasks: int


class BatchFinished(msgspec.Struct):
    index: int
    size: int
    done: int
    failed: int


class JobFinished(msgspec.Struct):
    job_id: uuid.UUID
    status: str
    total_tasks: int
    done: int
    failed: int


def finish_stamp(job: Any) -> str:
    """The job's finish time in microseconds: what tells one finish of a job from the
    next one after a retry."""
    finished: datetime = job.finished_at
    return str((finished - _EPOCH) // timedelta(microseconds=1))


def told_everything(job: Any, last_event_id: str) -> bool:
    """Whether a client that saw events up to ``last_event_id`` has the whole story of
    ``job``: it is finished, and the final event of this finish was among them."""
    if job.status not in FINISHED_STATUSES or job.finished_at is None:
        return False
    _, dash, stamp = last_event_id.partition("-")
    return bool(dash) and stamp == finish_stamp(job)


@dataclass
class _Told:
    """A task finish the stream has told: which finish it was, and how it ended."""

    finished_at: datetime
    status: str
    batch: int


class ProgressStream:
    """What one stream has told its client so far, and what it tells next."""

    def __init__(self, job_id: uuid.UUID, owner: uuid.UUID) -> None:
        self.job_id = job_id
        self.owner = owner
        self.sequence = 0
        self.cursor: FinishedKey | None = None  # the last finish told
        self.told: dict[str, _Told] = {}  # task id -> its finish, as told
        self.counts: Counter[str] = Counter()  # told statuses, of the whole job
        self.tally: dict[int, Counter[str]] = {}  # sub-batch -> told statuses
        self.batches_told: set[int] = set()
        self.sizes: dict[int, int] | None = None  # sub-batch -> its number of tasks
        self.last_state: tuple[Any, ...] | None = None

    async def look(self, session: AsyncSession) -> tuple[list[bytes], bool]:
        """The frames for what changed since the last look, and whether the job is over."""
        await repository.snapshot(session)
        job = await repository.job_progress(session, self.owner, self.job_id)
        if job is None:  # deleted meanwhile
            return [], True
        state = (job.done, job.failed, job.status, job.finished_at)
        if state == self.last_state:
            return [], False
        if self.sizes is None:
            self.sizes = await repository.batch_sizes(session, job.id)
        rows = await repository.finished_tasks(session, job.id, after=self.cursor)
        if len(self.told) + len(rows) != job.done + job.failed:
            # A retry re-queued tasks already told, or a commit landed behind the cursor
            # (its tasks were stamped before ones told already): rare, read them all once.
            rows = await self._catch_up(session, job.id)
        frames = self._task_frames(job, rows)
        frames += self._batch_frames(sorted({row.batch_index for row in rows}))
        self.last_state = state
        finished = job.status in FINISHED_STATUSES
        if finished:
            final = JobFinished(
                job_id=job.id,
                status=job.status,
                total_tasks=job.total_tasks,
                done=job.done,
                failed=job.failed,
            )
            self.sequence += 1
            frames.append(
                sse.json_frame(final, event="job", id=f"{self.sequence}-{finish_stamp(job)}")
            )
        return frames, finished

    async def _catch_up(self, session: AsyncSession, job_id: uuid.UUID) -> list[Any]:
        """Forget the finishes that are no longer current (retried tasks) and return every
        finished task not told yet, in the order they finished."""
        rows = await repository.finished_tasks(session, job_id)
        current = {row.task_id: row.finished_at for row in rows}
        for task_id, told in list(self.told.items()):
            if current.get(task_id) != told.finished_at:
                self._forget(task_id)
        if rows:
            self.cursor = (rows[-1].finished_at, rows[-1].position)
        return [row for row in rows if row.task_id not in self.told]

    def _forget(self, task_id: str) -> None:
        told = self.told.pop(task_id)
        self.counts[told.status] -= 1
        self.tally[told.batch][told.status] -= 1
        self.batches_told.discard(told.batch)  # announced again once complete again

    def _task_frames(self, job: Any, rows: Sequence[Any]) -> list[bytes]:
        frames: list[bytes] = []
        for row in rows:
            if row.task_id in self.told:  # an earlier finish of a retried task
                self._forget(row.task_id)
            self.told[row.task_id] = _Told(row.finished_at, row.status, row.batch_index)
            self.counts[row.status] += 1
            self.tally.setdefault(row.batch_index, Counter())[row.status] += 1
            key = (row.finished_at, row.position)
            if self.cursor is None or key > self.cursor:
                self.cursor = key
            event = TaskFinished(
                task_id=row.task_id,
                function_name=row.function_name,
                type=row.kind,
                batch=row.batch_index,
                status=row.status,
                error=row.error,
                path=row.context_file,
                done=self.counts["done"],
                failed=self.counts["failed"],
                total_tasks=job.total_tasks,
            )
            frames.append(self._frame("task", event))
        return frames

    def _batch_frames(self, touched: list[int]) -> list[bytes]:
        frames: list[bytes] = []
        sizes = self.sizes or {}
        for index in touched:
            tally = self.tally.get(index, Counter())
            if index in self.batches_told or tally.total() < sizes.get(index, 0):
                continue
            self.batches_told.add(index)
            batch = BatchFinished(
                index=index, size=tally.total(), done=tally["done"], failed=tally["failed"]
            )
            frames.append(self._frame("batch", batch))
        return frames

    def _frame(self, event: str, data: msgspec.Struct) -> bytes:
        self.sequence += 1
        return sse.json_frame(data, event=event, id=str(self.sequence))


async def progress_frames(
    sessionmaker: async_sessionmaker[AsyncSession],
    progress: ProgressStream,
    *,
    poll_interval: float,
) -> AsyncIterator[bytes]:
    """The frames of each look (one chunk a look), until the job ends."""
    while True:
        async with sessionmaker() as session:
            frames, finished = await progress.look(session)
        if frames:
            yield b"".join(frames)
        if finished:
            return
        await asyncio.sleep(poll_interval)


async def open_stream(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: Id,
    job_id: Id,
    *,
    last_event_id: str | None,
    settings: ContextsSettings,
    token_expires_at: float,
) -> AsyncIterator[bytes] | None:
    """The body of the caller's job's stream (404 for anyone else's), or None when
    ``last_event_id`` shows the client has seen all of it.

    ``session`` only finds the job and is closed then: the stream opens its own short
    sessions from ``sessionmaker``."""
    job = await owned_job(session, user_id, job_id)
    await session.close()
    if last_event_id is not None and told_everything(job, last_event_id):
        return None
    progress = ProgressStream(job.id, job.user_id)
    return sse.stream_body(
        progress_frames(sessionmaker, progress, poll_interval=settings.events_poll_interval),
        preamble=sse.comment(f"job {job.id}", retry_ms=CLIENT_RETRY_MS),
        heartbeat=settings.events_heartbeat,
        until=min(token_expires_at, time.time() + MAX_STREAM_SECONDS),
    )
