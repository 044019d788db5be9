"""The outbox relay: publishes committed outbox rows with confirms and marks them sent.

One task per process. It LISTENs on the table's channel on a dedicated asyncpg connection
(so it wakes as soon as a writer commits) and polls every ``poll_interval`` seconds as a
fallback (a lost listener connection, a notification missed while reconnecting). A round:

1. in one transaction, claim up to ``batch_size`` pending rows in id order with
   ``FOR UPDATE SKIP LOCKED`` (other replicas skip them, so a row is never published by
   two relays at once);
2. publish them with confirms (:meth:`Publisher.publish_many`), each with its row's
   routing key (the event type, or a queue name for a job queue's outbox);
3. mark the confirmed ones sent; a failed one keeps ``sent_at`` NULL, gets ``attempts+1``
   and ``last_error``; rows after a failing chunk are untouched; commit.

A crash between 2 and 3 rolls the marks back and the rows are published again: delivery
is at least once, consumers deduplicate on the envelope id. When the broker is down, the
relay drops its publisher and retries with exponential backoff (capped); nothing is lost,
rows simply wait. Sent rows older than ``retention`` are deleted every ``prune_interval``.

``linger`` (seconds, default 0) delays the round a notification starts, so that the
commits of the next moments are published with it: for tables written by many small
transactions in a row (a context job's progress, one event per batch), where a round per
commit, in every process that relays the table, would cost more than the events.

While it runs, every metrics scrape reads the backlog: pending rows and the age of the
oldest (``outbox_pending_rows``, ``outbox_oldest_pending_age_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import Table, Text, bindparam, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.messaging import (
    BrokerUnavailable,
    Envelope,
    MalformedMessage,
    Publisher,
    PublishManyFailed,
    PublishTimeout,
    Unroutable,
    decode,
)
from shared.metrics import OUTBOX_PUBLISHED, register_scrape_hook
from shared.outbox.backlog import backlog_hook
from shared.outbox.table import notify_channel

logger = logging.getLogger("shared.outbox")

PublisherFactory = Callable[[], Awaitable[Publisher]]  # see shared.outbox.publishers
PRUNE_CHUNK = 10_000


class _BrokerDown(Exception):
    """A round could not reach the broker; the relay backs off."""


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        publisher_factory: PublisherFactory,
        *,
        poll_interval: float = 5.0,
        batch_size: int = 100,
        retention: timedelta = timedelta(days=7),
        prune_interval: float = 3600.0,
        max_backoff: float = 5.0,
        stop_timeout: float = 15.0,
        linger: float = 0.0,
    ) -> None:
        self.engine = engine
        self.table = table
        self.publisher_factory = publisher_factory
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.retention = retention
        self.prune_interval = prune_interval
        self.max_backoff = max_backoff
        self.stop_timeout = stop_timeout
        self.linger = linger
        self.channel = notify_channel(table)
        self._publisher: Publisher | None = None
        self._listener: asyncpg.Connection | None = None
        self._wakeup = asyncio.Event()  # a notification arrived (or stop)
        self._stop = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._unregister_metrics: Callable[[], None] | None = None
        self.name = table.fullname  # the metrics label, e.g. "todos.outbox"

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self.channel}")
            self._unregister_metrics = register_scrape_hook(backlog_hook(self.engine, self.table))

    async def stop(self) -> None:
        """Finish the round in flight (up to ``stop_timeout``), then close everything."""
        task, self._task = self._task, None
        if self._unregister_metrics is not None:
            self._unregister_metrics()
            self._unregister_metrics = None
        self._stopping = True
        self._stop.set()
        self._wakeup.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, self.stop_timeout)
            except TimeoutError:
                logger.warning("outbox relay stop timed out", extra={"channel": self.channel})
        await self._drop_publisher()
        await self._close_listener()

    # -- the loop -------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.0
        next_prune = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            await self._ensure_listening()
            self._wakeup.clear()
            try:
                claimed, published = await self.run_once()
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.1), self.max_backoff)
                logger.warning(
                    "outbox relay round failed, retrying",
                    extra={"channel": self.channel, "error": repr(exc), "retry_in": backoff},
                )
                await self._drop_publisher()
                # Notifications do not cut a backoff short, only stop() does.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                continue
            if claimed == self.batch_size and published > 0:
                continue  # more are waiting: no pause between full batches
            if loop.time() >= next_prune:
                next_prune = loop.time() + self.prune_interval
                with contextlib.suppress(Exception):
                    await self.prune()
            listening = self._listener is not None and not self._listener.is_closed()
            await self._sleep(self.poll_interval if listening else min(self.poll_interval, 5.0))
            if self.linger:  # the commits of the next moments join this round
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.linger)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a notification (or stop) arrives."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def run_once(self) -> tuple[int, int]:
        """One round; returns (rows claimed, rows published). Raises if the broker is down."""
        t = self.table
        claim = (
            select(t.c.id, t.c.event_id, t.c.routing_key, cast(t.c.payload, Text).label("payload"))
            .where(t.c.sent_at.is_(None))
            .order_by(t.c.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        async with self.engine.connect() as conn:
            pending = select(t.c.id).where(t.c.sent_at.is_(None)).limit(1)
            if await conn.scalar(pending) is None:
                return 0, 0
        # Open the publisher before claiming: a slow broker connect must not hold row locks
        # and a pooled connection.
        if self._publisher is None:
            self._publisher = await self.publisher_factory()
        async with self.engine.begin() as conn:
            rows = (await conn.execute(claim)).all()
            if not rows:
                return 0, 0
            ids = {row.event_id: row.id for row in rows}
            errors: dict[Any, str] = {}
            envelopes: list[Envelope] = []
            routing_keys: dict[Any, str] = {}
            unpublishable: list[tuple[int, str]] = []
            for row in rows:
                try:
                    envelope = decode(row.payload.encode())
                    envelopes.append(envelope)
                    if row.routing_key != envelope.type:
                        routing_keys[envelope.id] = row.routing_key
                except MalformedMessage as exc:
                    # It can never be published: close it (with the reason) rather than let
                    # it block every newer event forever.
                    unpublishable.append((row.id, f"unpublishable: {exc.reason}"))
                    logger.error("malformed outbox row closed", extra={"outbox_id": row.id})
            published, broker_down = await self._publish(envelopes, routing_keys, errors)
            if published:
                sent_ids = [ids[event_id] for event_id in published]
                await conn.execute(update(t).where(t.c.id.in_(sent_ids)).values(sent_at=func.now()))
            for row_id, reason in unpublishable:
                await conn.execute(
                    update(t).where(t.c.id == row_id).values(sent_at=func.now(), last_error=reason)
                )
            if errors:
                failed = update(t).where(t.c.id == bindparam("row_id"))
                failed = failed.values(attempts=t.c.attempts + 1, last_error=bindparam("error"))
                await conn.execute(
                    failed, [{"row_id": ids[e], "error": err} for e, err in errors.items()]
                )
        if errors:
            logger.warning(
                "outbox rows not published",
                extra={"channel": self.channel, "failed": len(errors), "sent": len(published)},
            )
        OUTBOX_PUBLISHED.labels(self.name).inc(len(published))
        if broker_down:
            raise _BrokerDown(f"{len(errors)} publish(es) failed: broker unavailable")
        return len(rows), len(published)

    async def _publish(
        self, envelopes: list[Envelope], routing_keys: dict[Any, str], errors: dict[Any, str]
    ) -> tuple[list[Any], bool]:
        """Publish; fill ``errors``; return (confirmed ids, whether the broker is down).

        ``routing_keys`` holds the rows whose routing key is not their type (job queues)."""
        if not envelopes:
            return [], False
        assert self._publisher is not None
        try:
            await self._publisher.publish_many(envelopes, routing_keys=routing_keys)
        except PublishManyFailed as exc:
            down = False
            delivered = set(exc.published)
            for event_id, error in exc.errors.items():
                if isinstance(error, Unroutable):
                    # No queue at all is bound for this routing key: no consumer has
                    # declared an interest, so there is nobody to lose it for; it counts as
                    # delivered rather than blocking the outbox forever.
                    logger.info("event has no subscriber", extra={"routing_key": error.routing_key})
                    delivered.add(event_id)
                    continue
                errors[event_id] = str(error)
                down = down or isinstance(error, BrokerUnavailable | PublishTimeout)
            # Only the unbroken prefix counts as sent: rows confirmed after a failed one are
            # published again next round, so consumers never see events out of order
            # (they deduplicate the second copy by id).
            prefix = itertools.takewhile(lambda envelope: envelope.id in delivered, envelopes)
            return [envelope.id for envelope in prefix], down
        return [envelope.id for envelope in envelopes], False

    async def prune(self) -> int:
        """Delete sent rows older than the retention period; returns how many."""
        t = self.table
        cutoff = func.now() - self.retention
        old = select(t.c.id).where(t.c.sent_at < cutoff).limit(PRUNE_CHUNK)
        total = 0
        while True:
            async with self.engine.begin() as conn:
                deleted = (await conn.execute(delete(t).where(t.c.id.in_(old)))).rowcount
            total += deleted
            if deleted < PRUNE_CHUNK:
                break
        if total:
            logger.info("outbox pruned", extra={"channel": self.channel, "deleted": total})
        return total

    # -- resources ------------------------------------------------------------------
    async def _ensure_listening(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        await self._close_listener()
        url = self.engine.url.set(drivername="postgresql")
        try:
            conn = await asyncpg.connect(
                url.render_as_string(hide_password=False),
                server_settings={"application_name": f"outbox-relay:{self.channel}"},
            )
            await conn.add_listener(self.channel, self._notified)
            # A lost listener wakes the loop, which reconnects at once instead of at the
            # next poll (and runs a round for the notifications it may have missed).
            conn.add_termination_listener(self._notified)
        except Exception as exc:
            logger.warning(
                "outbox relay cannot LISTEN, polling meanwhile",
                extra={"channel": self.channel, "error": repr(exc)},
            )
            return
        self._listener = conn
        self._wakeup.set()  # notifications may have been missed while not listening

    def _notified(self, *_args: object) -> None:
        self._wakeup.set()

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(publisher.close(), 5)
