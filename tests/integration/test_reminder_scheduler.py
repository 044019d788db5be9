"""The reminder scheduler's claim (``fire_due``) against a real, freshly migrated Postgres.

Several claimers (one engine each, as replicas have) race for the same due reminders:
each reminder is fired once (``reminded_at`` set, one ``todos.todo.reminder_due`` row in
the outbox), and a claimer never waits for rows another transaction holds (a claimer's
round in flight, a write to the todo): it skips them (``FOR UPDATE SKIP LOCKED``), and
they fire later.

To hold a claimer's round open at a known point, the module's database has one extra
trigger: a round of a connection named ``held-claimer`` waits, after it has claimed and
marked its reminders and while it writes their events, for an advisory lock the test
holds. Everything else is the todos schema as migrated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.todos.models import OUTBOX, TodoModel
from services.todos.reminder_scheduler import EVENT_TYPE, fire_due
from shared.settings import REPO_ROOT
from tests.support.database import scratch_database

MIGRATIONS = REPO_ROOT / "services" / "todos" / "migrations"
TODOS = cast(Table, TodoModel.__table__)
HELD = "held-claimer"  # application_name of the claimer whose round the test holds open
HOLD_KEY = 724_001  # the advisory lock that holds it
NOT_BLOCKED = 5.0  # seconds: a claim that takes longer waited for a lock

HOLD_TRIGGER = (
    f"""
CREATE FUNCTION todos.test_hold_claimer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('application_name') = '{HELD}' THEN
        PERFORM pg_advisory_xact_lock_shared({HOLD_KEY});
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER test_hold_claimer AFTER INSERT ON todos.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION todos.test_hold_claimer()
""",
)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def database_url_() -> AsyncIterator[str]:
    """A new database holding the todos schema (and the hold trigger), dropped afterwards."""
    async with scratch_database("test_reminders", MIGRATIONS) as url:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            for statement in HOLD_TRIGGER:
                await conn.exec_driver_sql(statement)
        await engine.dispose()
        yield url


@pytest.fixture(scope="module")
async def replicas(database_url_: str) -> AsyncIterator[list[AsyncEngine]]:
    """Two engines on the database: the claimers of two todos replicas."""
    engines = [create_async_engine(database_url_, pool_size=5) for _ in range(2)]
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture(scope="module")
async def held_replica(database_url_: str) -> AsyncIterator[AsyncEngine]:
    """A claimer whose rounds wait, before they commit, while the test holds HOLD_KEY."""
    settings = {"server_settings": {"application_name": HELD}}
    engine = create_async_engine(database_url_, connect_args=settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(replicas: list[AsyncEngine]) -> AsyncEngine:
    """The first replica's engine, on an empty todos table and outbox."""
    async with replicas[0].begin() as conn:
        await conn.execute(text("TRUNCATE todos.todos, todos.outbox"))
    return replicas[0]


# --- helpers ---------------------------------------------------------------------------


async def add_due(engine: AsyncEngine, count: int, **fields: Any) -> list[uuid.UUID]:
    """``count`` todos of one user whose reminders came due a moment ago (armed: pending,
    not deleted, ``reminded_at`` NULL), in remind_at order."""
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "number": n + 1,
            "title": f"Reminder {n + 1}",
            "remind_at": now - timedelta(seconds=2) + timedelta(milliseconds=n),
            **fields,
        }
        for n in range(count)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(TODOS), rows)
    return [row["id"] for row in rows]


async def fired_events(conn: AsyncConnection | AsyncEngine) -> list[dict[str, Any]]:
    """The payloads (envelopes) of every reminder event in the outbox, committed."""
    query = select(OUTBOX.c.payload).where(OUTBOX.c.type == EVENT_TYPE).order_by(OUTBOX.c.id)
    if isinstance(conn, AsyncEngine):
        async with conn.connect() as connection:
            return list((await connection.execute(query)).scalars())
    return list((await conn.execute(query)).scalars())


async def still_armed(engine: AsyncEngine, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    async with engine.connect() as conn:
        query = select(TODOS.c.id).where(TODOS.c.id.in_(ids), TODOS.c.reminded_at.is_(None))
        return set((await conn.execute(query)).scalars())


async def assert_each_fired_once(engine: AsyncEngine, ids: list[uuid.UUID]) -> None:
    """Every todo of ``ids`` marked fired, and exactly one reminder event for each."""
    assert await still_armed(engine, ids) == set()
    events = await fired_events(engine)
    per_todo = Counter(event["data"]["id"] for event in events)
    assert per_todo == Counter({str(todo_id): 1 for todo_id in ids})
    assert len({event["id"] for event in events}) == len(events)  # distinct envelope ids


async def drain(engine: AsyncEngine, batch_size: int) -> int:
    """Claim rounds until one finds nothing it can take; how many this claimer fired."""
    total = 0
    while fired := await fire_due(engine, batch_size=batch_size):
        total += fired
    return total


async def held_claimer_waiting(engine: AsyncEngine) -> bool:
    """Whether the held claimer's round waits on the advisory lock (inside its round)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    async with engine.connect() as conn:
        return bool(await conn.scalar(query, {"name": HELD}))


# --- tests -----------------------------------------------------------------------------


async def test_two_claimers_racing_fire_each_reminder_exactly_once(
    engine: AsyncEngine, replicas: list[AsyncEngine]
) -> None:
    ids = await add_due(engine, 400)
    for replica in replicas:  # both pools hold a connection before the race starts
        async with replica.connect() as conn:
            await conn.execute(text("SELECT 1"))

    counts = await asyncio.gather(*(drain(replica, batch_size=10) for replica in replicas))

    assert sum(counts) == 400, counts
    assert all(count > 0 for count in counts), counts  # both took a share
    await assert_each_fired_once(engine, ids)
    assert await fire_due(engine) == 0  # nothing fires twice


async def test_a_claimer_mid_round_does_not_block_another_which_takes_the_rest(
    engine: AsyncEngine, replicas: list[AsyncEngine], held_replica: AsyncEngine
) -> None:
    ids = await add_due(engine, 30)
    async with engine.connect() as hold:
        await hold.execute(text("SELECT pg_advisory_lock(:key)"), {"key": HOLD_KEY})
        held_round = asyncio.create_task(fire_due(held_replica, batch_size=10))
        try:
            # The held claimer has claimed (locked and marked) the first 10 and waits.
            for _ in range(200):
                if await held_claimer_waiting(engine):
                    break
                await asyncio.sleep(0.025)
            else:
                raise AssertionError("the held claimer never reached its outbox write")
            assert not held_round.done()

            # The other replica is not held up by those 10: it fires the 20 others now.
            other = await asyncio.wait_for(fire_due(replicas[1]), NOT_BLOCKED)
            assert other == 20
            # Committed so far: the other replica's round only; the held 10 are still armed
            # as the rest of the world sees them.
            assert await still_armed(engine, ids) == set(ids[:10])
            assert {e["data"]["id"] for e in await fired_events(engine)} == {
                str(todo_id) for todo_id in ids[10:]
            }
            # A third round skips the held 10 as well.
            assert await asyncio.wait_for(fire_due(replicas[0]), NOT_BLOCKED) == 0
        finally:
            await hold.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": HOLD_KEY})
            await hold.commit()
            held = await asyncio.wait_for(held_round, NOT_BLOCKED)
    assert held == 10
    await assert_each_fired_once(engine, ids)


async def test_a_reminder_held_by_a_write_is_skipped_then_fires_with_what_was_written(
    engine: AsyncEngine, replicas: list[AsyncEngine]
) -> None:
    ids = await add_due(engine, 5)
    held = ids[0]  # the first due: the claim meets its lock first
    async with engine.connect() as writer:
        # A write in flight holds the todo's row (as a PATCH holds it until it commits).
        edit = TODOS.update().where(TODOS.c.id == held).values(title="Edited meanwhile")
        await writer.execute(edit)
        try:
            fired = await asyncio.wait_for(fire_due(replicas[1]), NOT_BLOCKED)
            assert fired == 4
            assert await still_armed(engine, ids) == {held}
        finally:
            await writer.commit()
    assert await fire_due(replicas[1]) == 1
    await assert_each_fired_once(engine, ids)
    last = (await fired_events(engine))[-1]
    assert last["data"]["id"] == str(held)
    assert last["data"]["title"] == "Edited meanwhile"


async def test_only_armed_reminders_due_by_now_are_claimed(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    due = await add_due(engine, 2)
    later = await add_due(engine, 1, remind_at=now + timedelta(minutes=5))
    completed = await add_due(engine, 1, status="completed")
    deleted = await add_due(engine, 1, deleted_at=now)
    done = await add_due(engine, 1, reminded_at=now)

    assert await fire_due(engine) == 2
    await assert_each_fired_once(engine, due)
    assert await still_armed(engine, later + completed + deleted) == {
        *later,
        *completed,
        *deleted,
    }
    assert await still_armed(engine, done) == set()
