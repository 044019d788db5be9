"""Job intake and retry of the contexts service against the real, migrated database.

``submit_job`` is called as the HTTP route and the AMQP submit consumer call it; what it
wrote is read back from the tables the worker reads (jobs, tasks, both outboxes).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.contexts.generation.summary import NO_TASKS_TEXT
from services.contexts.intake import submission as intake
from services.contexts.intake.schemas import JobRequest
from services.contexts.jobs import service as jobs_service
from services.contexts.jobs.repository import ANALYZE_AFTER_TASKS, JOBS, TASKS
from services.contexts.models import OUTBOX, WORK_OUTBOX, Base, JobModel, TaskModel
from services.contexts.queues import GENERATE_QUEUE, TASK_REQUESTED, TaskRequested
from services.contexts.settings import ContextsSettings
from services.contexts.worker import task_store
from shared.db import driver_connection
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.settings import REPO_ROOT
from tests.support.database import scratch_database
from tests.support.samples import SAMPLES


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    # A database of its own: the run's shared one is watched by the end-to-end contexts
    # processes, whose relays and worker would pick up (and move) the jobs written here.
    migrations = REPO_ROOT / "services" / "contexts" / "migrations"
    async with scratch_database("test_contexts_intake", migrations) as url:
        eng = create_async_engine(url)
        yield eng
        await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(engine, expire_on_commit=False)() as opened:
        yield opened


def sample(name: str) -> JobRequest:
    folder = SAMPLES / name
    registry = json.loads((folder / ".claude_tasks" / "task_registry.json").read_text())
    documents = {
        str(path.relative_to(folder)): path.read_text()
        for path in (folder / "docs").rglob("*")
        if path.is_file()
    }
    return msgspec.convert({"registry": registry, "documents": documents}, JobRequest)


def bulk(count: int) -> JobRequest:
    tasks = [
        {
            "id": f"backend_task_{n:05d}",
            "category": "backend",
            "type": "function",
            "level": 3,
            "status": "ready",
            "function": {"name": f"step{n}", "kind": "util", "module": "bulk"},
        }
        for n in range(count)
    ]
    return JobRequest(registry={"tasks": tasks})


async def submit(session: AsyncSession, request: JobRequest, user: uuid.UUID | None = None) -> Any:
    job = await intake.submit_job(
        session, user_id=user or uuid.uuid4(), request=request, correlation_id="test-intake"
    )
    await session.commit()
    return job


async def count(session: AsyncSession, table: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def test_declared_tables_match_the_migration(engine: AsyncEngine) -> None:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, _: kind != "schema" or name == "contexts",
            },
        )
        return [
            diff
            for diff in compare_metadata(context, Base.metadata)
            if not (diff[0] == "remove_table" and diff[1].name == "alembic_version")
        ]

    async with engine.connect() as conn:
        assert await conn.run_sync(compare) == []


async def test_sample_job_is_written_with_tasks_and_work_messages(session: AsyncSession) -> None:
    expected = json.loads((SAMPLES / "flat" / "expected.json").read_text())
    job = await submit(session, sample("flat"))
    assert job.status == "queued" and job.total_tasks == expected["needs_context"]
    assert job.sub_batches == expected["sub_batches"]
    tasks = (
        await session.scalars(
            select(TaskModel).where(TaskModel.job_id == job.job_id).order_by(TaskModel.position)
        )
    ).all()
    assert [t.position for t in tasks] == list(range(job.total_tasks))
    assert [t.batch_index for t in tasks] == [t.position // 10 + 1 for t in tasks]
    assert {t.status for t in tasks} == {"queued"} and all(t.attempts == 0 for t in tasks)
    assert tasks[0].spec["task_id"] == tasks[0].task_id  # the PlannedTask, for the worker
    # The documents are stored once, with the job; the specs only name their sections.
    stored = await session.scalar(select(JobModel.documents).where(JobModel.id == job.job_id))
    assert stored == sample("flat").documents
    excerpts = [e for t in tasks for e in t.spec["excerpts"]]
    assert excerpts and all(e["text"] == "" and e["document"] in stored for e in excerpts)
    messages = (
        await session.execute(
            select(WORK_OUTBOX.c.routing_key, WORK_OUTBOX.c.payload).order_by(WORK_OUTBOX.c.id)
        )
    ).all()
    mine = [p for _, p in messages if p["data"]["job_id"] == str(job.job_id)]
    assert [p["data"]["task_id"] for p in mine] == [t.task_id for t in tasks]
    assert {key for key, p in messages if p in mine} == {GENERATE_QUEUE}
    first = msgspec.convert(mine[0]["data"], TaskRequested)
    assert first.job_id == job.job_id and mine[0]["type"] == TASK_REQUESTED
    events = (await session.execute(select(OUTBOX.c.type, OUTBOX.c.payload))).all()
    accepted = [p for kind, p in events if p["data"]["job_id"] == str(job.job_id)]
    assert [p["type"] for p in accepted] == ["contexts.job.accepted"]
    assert accepted[0]["correlation_id"] == "test-intake"


async def test_ten_thousand_tasks_are_accepted_quickly(session: AsyncSession) -> None:
    request = bulk(10_000)
    started = time.monotonic()
    job = await submit(session, request)
    elapsed = time.monotonic() - started
    assert job.total_tasks == 10_000 and job.sub_batches == 1_000
    assert await count(session, TaskModel.__table__, TaskModel.job_id == job.job_id) == 10_000
    work = WORK_OUTBOX.c.payload["data"]["job_id"].astext == str(job.job_id)
    assert await count(session, WORK_OUTBOX, work) == 10_000
    assert elapsed < 15, f"intake of 10,000 tasks took {elapsed:.1f}s"


async def test_the_worker_reaches_a_new_large_jobs_tasks_by_their_key(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    # The table's statistics as autovacuum leaves them between jobs: they know only the
    # jobs written so far. A job's worker then reads and writes ten of its tasks at a time.
    await submit(session, bulk(20))
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE contexts.tasks"))
    job = await submit(session, bulk(ANALYZE_AFTER_TASKS))
    keys = [job.job_id] * 10, [f"backend_task_{n:05d}" for n in range(500, 510)]
    statements = {
        "load": (task_store._LOAD_TASKS, keys),
        "record": (task_store._RECORD_TASKS, (*keys, ["# ok"] * 10, [None] * 10, 3)),
    }
    async with driver_connection(engine) as conn:
        for name, (sql, arguments) in statements.items():
            plan = [row[0] for row in await conn.fetch(f"EXPLAIN {sql}", *arguments)]
            # Both key columns bound every index scan of the tasks: ten rows read, not all
            # of the job's.
            conditions = [
                condition
                for scan, condition in itertools.pairwise(plan)
                if "Index Scan" in scan and "tasks" in scan.split(" on ")[-1]
            ]
            shown = "\n".join(plan)
            assert conditions, f"{name} reads no index of the tasks:\n{shown}"
            assert all("task_id" in line for line in conditions), f"{name}:\n{shown}"


async def test_intake_does_not_hold_up_other_requests(session: AsyncSession) -> None:
    # Parsing and planning a large registry is seconds of CPU; other requests of the same
    # process (a tick here) must still be served meanwhile.
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    # What is measured is the intake's own work: the objects the rest of the test run has
    # left on the heap are set aside, so a full collection of them cannot count as a stall.
    gc.collect()
    gc.freeze()
    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        await submit(session, bulk(10_000))
    finally:
        ticker.cancel()
        gc.unfreeze()
    elapsed = time.monotonic() - started
    # Relative to the whole intake, so a slower machine does not change the verdict.
    assert max(gaps) < elapsed / 3, f"stood still {max(gaps):.2f}s of {elapsed:.2f}s"


@pytest.mark.parametrize(
    ("registry", "documents", "where"),
    [
        ({"tasks": "nope"}, {}, "$.tasks"),
        ({"unknown_shape": []}, {}, "$"),
        ("{not json", {}, "registry"),
        ({"tasks": []}, {"../secret.md": "x"}, "documents['../secret.md']"),
        ({"tasks": []}, {"/etc/passwd": "x"}, "documents['/etc/passwd']"),
        ({"tasks": []}, {"docs/big.md": "x" * (5 * 1024 * 1024 + 1)}, "documents"),
        ({"tasks": []}, {"docs/prd.md": "a\x00b"}, "documents['docs/prd.md']"),
        ({"tasks": [{"id": "t1", "title": "a\x00b"}]}, {}, "$.tasks[0].title"),
        ("[" * 5_000 + "]" * 5_000, {}, "registry"),
    ],
)
async def test_malformed_input_names_the_place_and_writes_nothing(
    session: AsyncSession, registry: Any, documents: dict[str, str], where: str
) -> None:
    user = uuid.uuid4()
    with pytest.raises(ValidationFailed) as raised:
        await submit(session, JobRequest(registry=registry, documents=documents), user)
    assert raised.value.details["where"] == where
    await session.rollback()
    assert await count(session, JobModel.__table__, JobModel.user_id == user) == 0


async def test_duplicate_ids_are_refused_with_their_place(session: AsyncSession) -> None:
    request = bulk(3)
    request.registry["tasks"][2]["id"] = request.registry["tasks"][0]["id"]
    with pytest.raises(ValidationFailed) as raised:
        await submit(session, request)
    assert raised.value.details["where"].startswith("$.tasks[2]")


async def test_no_qualifying_task_completes_the_job_at_once(session: AsyncSession) -> None:
    registry = bulk(2).registry
    for task in registry["tasks"]:
        task["status"] = "context_ready"
    job = await submit(session, JobRequest(registry=registry))
    assert job.status == "completed" and job.total_tasks == 0 and job.sub_batches == 0
    assert job.skipped == 2 and NO_TASKS_TEXT in job.warnings
    assert job.finished_at is not None
    kinds = (
        await session.scalars(
            select(OUTBOX.c.type)
            .where(OUTBOX.c.payload["data"]["job_id"].astext == str(job.job_id))
            .order_by(OUTBOX.c.id)
        )
    ).all()
    assert kinds == ["contexts.job.accepted", "contexts.job.completed"]


async def test_retry_requeues_failed_tasks_once_the_job_has_finished(
    session: AsyncSession,
) -> None:
    user = uuid.uuid4()
    job = await submit(session, bulk(12), user)
    with pytest.raises(Conflict):  # still queued: its failures are not final yet
        await jobs_service.retry_job(session, user, job.job_id)
    await session.rollback()
    # What the worker leaves behind: ten done, two failed, the job finished with errors.
    tasks = TASKS
    await session.execute(
        update(tasks)
        .where(tasks.c.job_id == job.job_id)
        .values(status="done", markdown="# x", finished_at=func.now())
    )
    await session.execute(
        update(tasks)
        .where(tasks.c.job_id == job.job_id, tasks.c.position >= 10)
        .values(status="failed", markdown=None, error="model refused", attempts=3)
    )
    await session.execute(
        update(JOBS)
        .where(JobModel.id == job.job_id)
        .values(status="completed_with_errors", done=10, failed=2, finished_at=func.now())
    )
    await session.commit()
    with pytest.raises(NotFound):  # someone else's job
        await jobs_service.retry_job(session, uuid.uuid4(), job.job_id)
    await session.rollback()

    retried = await jobs_service.retry_job(session, user, job.job_id)
    assert retried.status == "running" and retried.done == 10 and retried.failed == 0
    assert retried.finished_at is None
    assert [(b.index, b.done, b.failed) for b in retried.batches] == [(1, 10, 0), (2, 0, 0)]
    rows = (
        await session.execute(
            select(tasks.c.task_id, tasks.c.status, tasks.c.attempts, tasks.c.error)
            .where(tasks.c.job_id == job.job_id, tasks.c.position >= 10)
            .order_by(tasks.c.position)
        )
    ).all()
    assert [tuple(row)[1:] for row in rows] == [("queued", 0, None), ("queued", 0, None)]
    requested = (
        await session.scalars(
            select(WORK_OUTBOX.c.payload["data"]["task_id"].astext)
            .where(WORK_OUTBOX.c.payload["data"]["job_id"].astext == str(job.job_id))
            .order_by(WORK_OUTBOX.c.id)
        )
    ).all()
    assert requested[-2:] == [row.task_id for row in rows] and len(requested) == 14
    announced = (
        await session.scalars(
            select(OUTBOX.c.payload)
            .where(OUTBOX.c.payload["data"]["job_id"].astext == str(job.job_id))
            .order_by(OUTBOX.c.id)
        )
    ).all()
    assert [(e["type"], e["data"]["status"]) for e in announced] == [
        ("contexts.job.accepted", "queued"),
        ("contexts.job.progress", "running"),
    ]
    with pytest.raises(Conflict):  # running again
        await jobs_service.retry_job(session, user, job.job_id)


@pytest.mark.parametrize(
    ("limits", "where"),
    [
        (ContextsSettings(max_registry_bytes=4096), "registry"),
        (ContextsSettings(max_registry_tasks=20), "$.tasks"),
    ],
)
async def test_registry_limits_are_enforced(
    session: AsyncSession, limits: ContextsSettings, where: str
) -> None:
    user = uuid.uuid4()
    with pytest.raises(ValidationFailed) as raised:
        await intake.submit_job(
            session, user_id=user, request=bulk(30), correlation_id=None, limits=limits
        )
    assert raised.value.details["where"].startswith(where)
    await session.rollback()
    assert await count(session, JobModel.__table__, JobModel.user_id == user) == 0
