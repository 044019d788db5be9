"""The reminder scheduler: fires each due reminder once, as ``todos.todo.reminder_due``.

PostgreSQL is the timer store (the armed reminders, in the partial index
``ix_todos_reminder_due``); the todos outbox carries the events to the broker. A round, in
one transaction:

1. claim up to ``BATCH_SIZE`` armed reminders due by now with ``FOR UPDATE SKIP LOCKED``
   (another replica's round, or a write holding a todo, skips them rather than waits);
2. mark them fired (``reminded_at``) and write one event per reminder to the outbox;
3. commit: either both happen or neither, so a reminder fires once, whichever replica
   claims it, across restarts, and a broker outage only delays the relay.

Between rounds it sleeps until the next armed reminder, ``poll_seconds`` at most (0.5 s by
default), since a reminder armed meanwhile by another replica is only seen by looking again.
A reminder that fires more than ``LATE_AFTER`` past its time (the service was down) says so
with ``late: true``. A database outage makes rounds fail and back off; readiness does not
depend on the scheduler (serving todos does not need it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import cast

import msgspec
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.todos.models import ARMED, OUTBOX, TodoModel
from shared.messaging import Envelope
from shared.metrics import REMINDER_LAG, REMINDERS_FIRED
from shared.outbox import add_events
from shared.platform import DatabasePlugin

logger = logging.getLogger("services.todos.reminders")

EVENT_TYPE = "todos.todo.reminder_due"
BATCH_SIZE = 100
LATE_AFTER = timedelta(seconds=5)
MAX_BACKOFF = 5.0
STOP_TIMEOUT = 10.0
MIN_PAUSE = 0.05

todos = cast(Table, TodoModel.__table__)
c = todos.c


class ReminderDue(msgspec.Struct):
    """The data of a ``todos.todo.reminder_due`` event."""

    id: uuid.UUID
    number: int
    title: str
    due_at: datetime | None
    remind_at: datetime
    late: bool  # fired more than LATE_AFTER past remind_at


async def fire_due(engine: AsyncEngine, batch_size: int = BATCH_SIZE) -> int:
    """One round: fire the reminders due by now (at most ``batch_size``); how many fired."""
    due = (
        select(c.id)
        .where(ARMED, c.remind_at <= func.now())
        .order_by(c.remind_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    # clock_timestamp(), not now(): the moment it really fires, for `late` and the lag.
    fired = (
        update(todos)
        .where(c.id.in_(select(due.c.id)))
        .values(reminded_at=func.clock_timestamp())
        .returning(c.id, c.user_id, c.number, c.title, c.due_at, c.remind_at, c.reminded_at)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(fired)).all()
        envelopes = []
        for row in rows:
            lag = row.reminded_at - row.remind_at
            late = lag > LATE_AFTER
            data = ReminderDue(row.id, row.number, row.title, row.due_at, row.remind_at, late)
            envelopes.append(
                Envelope(type=EVENT_TYPE, user_id=row.user_id, data=msgspec.to_builtins(data))
            )
        await add_events(conn, OUTBOX, envelopes)
    for row, envelope in zip(rows, envelopes, strict=True):
        late = envelope.data["late"]
        REMINDERS_FIRED.labels(late="true" if late else "false").inc()
        REMINDER_LAG.observe(max(0.0, (row.reminded_at - row.remind_at).total_seconds()))
    return len(rows)


async def seconds_to_next(engine: AsyncEngine) -> float | None:
    """How long until the next armed reminder is due (<= 0: due now); None when none is."""
    nearest = select(func.extract("epoch", func.min(c.remind_at) - func.clock_timestamp()))
    nearest = nearest.where(ARMED)
    async with engine.connect() as conn:
        seconds = await conn.scalar(nearest)
    return None if seconds is None else float(seconds)


class ReminderScheduler:
    """The scheduler's task in one process (every replica runs one)."""

    def __init__(self, engine: AsyncEngine, poll_seconds: float) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="reminder-scheduler")

    async def stop(self) -> None:
        """Let the round in flight finish (its events are in the outbox by then), up to
        ``STOP_TIMEOUT``; a round cut short rolls back and fires at the next start."""
        task, self._task = self._task, None
        self._stop.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT)
            except TimeoutError:
                logger.warning("reminder scheduler stop timed out")

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            try:
                fired = await fire_due(self.engine)
                pause = 0.0 if fired == BATCH_SIZE else await self._pause()
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF)
                pause = backoff
                logger.warning(
                    "reminder round failed, retrying",
                    extra={"error": repr(exc), "retry_in": backoff},
                )
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)

    async def _pause(self) -> float:
        """Until the next known reminder, ``poll_seconds`` at most."""
        following = await seconds_to_next(self.engine)
        if following is None:
            return self.poll_seconds
        # A due one still armed after a round is locked by another replica's round (or a
        # write): look again shortly, without spinning.
        return min(max(following, MIN_PAUSE), self.poll_seconds)


class ReminderPlugin(InitPluginProtocol):
    """Runs the :class:`ReminderScheduler` under the app's lifespan, on the database
    plugin's engine. Put it after the ``OutboxPlugin``: it stops first, so the relay still
    publishes the events of its last round."""

    def __init__(self, database: DatabasePlugin, poll_seconds: float) -> None:
        self.database = database
        self.poll_seconds = poll_seconds

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        return app_config

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        scheduler = ReminderScheduler(self.database.engine, self.poll_seconds)
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
