"""What a job's readers see while its tasks are being stored: one consistent story.

These run in process against the run's database, with no worker: the test stores the
tasks' outcomes itself, as the worker's transactions do (tasks and job counters in one
commit), at the finish times it chooses, so the interleavings that are rare with real
workers happen every time.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from services.contexts.jobs import repository
from services.contexts.jobs.progress_stream import ProgressStream
from services.contexts.results import service as results_service
from services.contexts.results.archive import ArchiveWriter
from tests.support.contexts import flat_registry

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Frames = list[tuple[str, str, Any]]


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    created = create_async_engine(database_url)
    yield created
    await created.dispose()


async def new_job(engine: AsyncEngine, total: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A queued job of ``total`` tasks, written directly (no work is published)."""
    user_id, registry = uuid.uuid4(), flat_registry(total)
    async with async_sessionmaker(engine)() as session:
        job = await repository.insert_job(
            session,
            {
                "user_id": user_id,
                "shape": "flat",
                "registry": json.dumps(registry),
                "total_tasks": total,
                "sub_batches": -(-total // 10),
            },
        )
        rows = [
            {
                "task_id": task["id"],
                "position": n,
                "batch_index": n // 10 + 1,
                "kind": "service",
                "function_name": task["function"]["name"],
                "context_file": f".claude_tasks/contexts/{task['id']}_context.md",
                "spec": "{}",
            }
            for n, task in enumerate(registry["tasks"])
        ]
        await repository.insert_tasks(session, job.id, rows)
        await session.commit()
    return user_id, job.id


async def store(
    engine: AsyncEngine, job_id: uuid.UUID, positions: range, status: str, second: int
) -> None:
    """One worker commit: these tasks finished (stamped ``second`` s after T0), the job's
    counters and status moved with them."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE contexts.tasks SET status = :status, finished_at = :at,"
                " attempts = attempts + 1,"
                " markdown = CASE WHEN :status = 'done' THEN 'context of ' || task_id END,"
                " error = CASE WHEN :status = 'failed' THEN 'no model' END"
                " WHERE job_id = :job AND position = ANY(:positions)"
            ),
            {
                "status": status,
                "at": T0 + timedelta(seconds=second),
                "job": job_id,
                "positions": list(positions),
            },
        )
        await conn.execute(
            text(
                "UPDATE contexts.jobs j SET done = c.done, failed = c.failed,"
                " status = CASE WHEN c.done + c.failed < j.total_tasks THEN 'running'"
                "   WHEN c.failed = 0 THEN 'completed' ELSE 'completed_with_errors' END,"
                " finished_at = CASE WHEN c.done + c.failed = j.total_tasks THEN now() END"
                " FROM (SELECT count(*) FILTER (WHERE status = 'done') AS done,"
                "              count(*) FILTER (WHERE status = 'failed') AS failed"
                "       FROM contexts.tasks WHERE job_id = :job) c"
                " WHERE j.id = :job"
            ),
            {"job": job_id},
        )


def parse(chunks: list[bytes]) -> Frames:
    frames = []
    for block in b"".join(chunks).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append((fields["event"], fields["id"], json.loads(fields["data"])))
    return frames


def looker(engine: AsyncEngine, stream: ProgressStream) -> Callable[[], Awaitable[Frames]]:
    async def look() -> Frames:
        async with async_sessionmaker(engine)() as session:
            chunks, _ = await stream.look(session)
        return parse(chunks)

    return look


def tasks_of(frames: Frames) -> list[str]:
    return [data["task_id"] for name, _, data in frames if name == "task"]


async def test_the_event_stream_tells_a_commit_that_lands_behind_what_it_told(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, job_id = await new_job(engine, 12)
    look = looker(engine, ProgressStream(job_id, user_id))
    rows_read: list[int] = []  # finished tasks each look reads from the database
    read = repository.finished_tasks

    async def counted(*args: Any, **kwargs: Any) -> Any:
        rows = await read(*args, **kwargs)
        rows_read.append(len(rows))
        return rows

    monkeypatch.setattr(repository, "finished_tasks", counted)
    ids = [f"backend_task_{n:05d}" for n in range(12)]

    await store(engine, job_id, range(0, 5), "done", second=10)
    assert tasks_of(await look()) == ids[0:5]
    await store(engine, job_id, range(7, 10), "done", second=20)
    assert tasks_of(await look()) == ids[7:10]
    # A worker whose transaction began earlier commits last: its tasks are stamped before
    # the ones already told. They are told all the same, and their sub-batch completes.
    await store(engine, job_id, range(5, 7), "done", second=15)
    frames = await look()
    assert tasks_of(frames) == ids[5:7]
    assert [(name, data) for name, _, data in frames][-1] == (
        "batch",
        {"index": 1, "size": 10, "done": 10, "failed": 0},
    )
    assert await look() == []  # nothing moved, nothing told

    await store(engine, job_id, range(10, 12), "failed", second=30)
    frames = await look()
    assert [name for name, _, _ in frames] == ["task", "task", "batch", "job"]
    assert [data["done"] for name, _, data in frames if name == "task"] == [10, 10]
    assert [data["failed"] for name, _, data in frames if name == "task"] == [1, 2]
    assert frames[-1][2]["status"] == "completed_with_errors"
    # Each look read only what finished since the last one, but for the late commit,
    # which had the stream read the job's finished tasks once more.
    assert rows_read == [5, 3, 0, 10, 2]


async def test_the_event_stream_tells_the_second_run_of_a_retried_job(
    engine: AsyncEngine,
) -> None:
    user_id, job_id = await new_job(engine, 3)
    await store(engine, job_id, range(0, 3), "failed", second=10)
    before = await looker(engine, ProgressStream(job_id, user_id))()
    assert [name for name, _, _ in before] == ["task"] * 3 + ["batch", "job"]

    async with async_sessionmaker(engine)() as session:  # what POST .../retry does
        requeued = await repository.requeue_failed(session, job_id)
        await repository.reopen_job(session, job_id, len(requeued))
        await session.commit()
    stream = ProgressStream(job_id, user_id)
    look = looker(engine, stream)
    assert await look() == []  # running again, nothing finished yet
    await store(engine, job_id, range(0, 2), "done", second=40)
    assert tasks_of(await look()) == ["backend_task_00000", "backend_task_00001"]
    await store(engine, job_id, range(2, 3), "failed", second=50)
    frames = await look()
    assert [name for name, _, _ in frames] == ["task", "batch", "job"]
    assert frames[1][2] == {"index": 1, "size": 3, "done": 2, "failed": 1}
    assert frames[-1][1] != before[-1][1]  # another finish: another final event id


async def test_the_archive_of_a_running_job_is_one_moment_of_it(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, job_id = await new_job(engine, 30)
    await store(engine, job_id, range(0, 10), "done", second=10)
    await store(engine, job_id, range(20, 30), "done", second=20)
    monkeypatch.setattr(results_service, "ARCHIVE_PAGE", 4)
    add = ArchiveWriter.add
    pages = 0

    async def add_then_a_worker_commits(writer: ArchiveWriter, files: Any) -> None:
        nonlocal pages
        await add(writer, files)
        pages += 1
        if pages == 2:  # the worker stores tasks between the first contexts and the rest
            await store(engine, job_id, range(10, 20), "done", second=30)

    monkeypatch.setattr(ArchiveWriter, "add", add_then_a_worker_commits)
    async with async_sessionmaker(engine)() as session:
        writer = await results_service.archive(session, user_id, job_id)
    try:
        content = writer.file.read()
    finally:
        writer.close()

    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
        registry_file = archive.extractfile(".claude_tasks/task_registry.json")
        assert registry_file is not None
        registry = msgspec.json.decode(registry_file.read())
    assert pages > 3 and len(names) == len(set(names))
    contexts = {name for name in names if name.endswith("_context.md")}
    marked = {
        task["context_file"] for task in registry["tasks"] if task["status"] == "context_ready"
    }
    assert contexts == marked
    assert len(contexts) == 20  # what was stored when the download began
