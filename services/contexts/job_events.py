"""``GET /api/v1/contexts/jobs/{id}/events``: a job's progress as Server-Sent Events.

The stream looks at the job in the database every ``EVENTS_POLL_INTERVAL`` seconds (only
the job row while nothing moves) and sends, in this order within a look:

- ``event: task`` for each task that finished since the last look (done or failed), in
  the order they finished;
- ``event: batch`` for each sub-batch whose tasks have all finished;
- ``event: job`` once, when the job is finished: the final event, then the stream ends.

A client that connects late (or to a finished job) first gets everything that already
happened, so a progress bar can be drawn from the stream alone. Events carry an ``id``
(their sequence number in the stream); a browser's EventSource reconnecting with a
``Last-Event-ID`` at or past the final event of a finished job gets 204, which ends its
reconnect loop (other clients simply close the stream after the ``job`` event). Quiet
periods get a comment line every ``EVENTS_HEARTBEAT`` seconds so proxies keep the
connection open. The stream also ends when the access token it was opened with expires
(the client reconnects with a new one).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.contexts import job_repository as repository
from services.contexts.models import FINISHED_STATUSES

CLIENT_RETRY_MS = 3000
_encoder = msgspec.json.Encoder()


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


def told_everything(job: Any, last_event_id: str) -> bool:
    """Whether a client that saw events up to ``last_event_id`` has the whole story of
    ``job``: it is finished and the stream's final event was among them."""
    if job.status not in FINISHED_STATUSES or not last_event_id.isdigit():
        return False
    return int(last_event_id) >= job.total_tasks + job.sub_batches + 1


def frame(event: str, sequence: int, data: msgspec.Struct) -> bytes:
    return b"event: %s\nid: %d\ndata: %s\n\n" % (event.encode(), sequence, _encoder.encode(data))


class ProgressStream:
    """What one stream has told its client so far, and what it tells next."""

    def __init__(self, job_id: uuid.UUID, owner: uuid.UUID) -> None:
        self.job_id = job_id
        self.owner = owner
        self.sequence = 0
        self.reported: dict[str, str] = {}  # task id -> the status already reported
        self.batches_done: set[int] = set()
        self.last_counts: tuple[int, int, str] | None = None

    async def look(self, session: AsyncSession) -> tuple[list[bytes], bool]:
        """The frames for what changed since the last look, and whether the job is over."""
        job = await repository.get_job(session, self.owner, self.job_id)
        if job is None:  # deleted meanwhile
            return [], True
        counts = (job.done, job.failed, job.status)
        if counts == self.last_counts:
            return [], False
        frames = await self._task_frames(session, job)
        self.last_counts = counts
        finished = job.status in FINISHED_STATUSES
        if finished:
            final = JobFinished(
                job_id=job.id,
                status=job.status,
                total_tasks=job.total_tasks,
                done=job.done,
                failed=job.failed,
            )
            frames.append(self._frame("job", final))
        return frames, finished

    async def _task_frames(self, session: AsyncSession, job: Any) -> list[bytes]:
        frames: list[bytes] = []
        rows = await repository.finished_tasks(session, job.id)
        known = [row.status for row in rows if self.reported.get(row.task_id) == row.status]
        done, failed = known.count("done"), known.count("failed")
        finished_by_batch: dict[int, list[Any]] = {}
        for row in rows:
            finished_by_batch.setdefault(row.batch_index, []).append(row)
            if self.reported.get(row.task_id) == row.status:
                continue
            self.reported[row.task_id] = row.status
            done += row.status == "done"
            failed += row.status == "failed"
            event = TaskFinished(
                task_id=row.task_id,
                function_name=row.function_name,
                type=row.kind,
                batch=row.batch_index,
                status=row.status,
                error=row.error,
                path=row.context_file,
                done=done,
                failed=failed,
                total_tasks=job.total_tasks,
            )
            frames.append(self._frame("task", event))
        batches = await repository.batch_counts(session, job.id)
        sizes = {row.batch_index: row.size for row in batches}
        for index in sorted(finished_by_batch):
            batch_rows = finished_by_batch[index]
            if index in self.batches_done or len(batch_rows) < sizes.get(index, 0):
                continue
            self.batches_done.add(index)
            batch = BatchFinished(
                index=index,
                size=len(batch_rows),
                done=sum(row.status == "done" for row in batch_rows),
                failed=sum(row.status == "failed" for row in batch_rows),
            )
            frames.append(self._frame("batch", batch))
        return frames

    def _frame(self, event: str, data: msgspec.Struct) -> bytes:
        self.sequence += 1
        return frame(event, self.sequence, data)


async def event_body(
    sessionmaker: async_sessionmaker[AsyncSession],
    progress: ProgressStream,
    *,
    poll_interval: float,
    heartbeat: float,
    expires_at: float,
) -> AsyncIterator[bytes]:
    """The response body: a preamble, then the frames of each look until the job ends."""
    yield b"retry: %d\n: job %s\n\n" % (CLIENT_RETRY_MS, str(progress.job_id).encode())
    quiet_since = time.monotonic()
    while time.time() < expires_at:
        async with sessionmaker() as session:
            frames, finished = await progress.look(session)
        if frames:
            yield b"".join(frames)
            quiet_since = time.monotonic()
        if finished:
            return
        if time.monotonic() - quiet_since >= heartbeat:
            yield b": heartbeat\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_interval)
