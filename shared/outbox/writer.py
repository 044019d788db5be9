"""Writing events to the outbox inside the caller's transaction.

:func:`record` is how a service records a domain event; :func:`add_event` and
:func:`add_events` write envelopes built elsewhere (a job's work messages, or events made
with :func:`event_envelope`). :func:`add_events` also takes a bare asyncpg connection (in
the transaction its caller opened on it), for hot paths that run without an ORM session.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import Table, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.messaging import Envelope
from shared.messaging.envelope import current_correlation_id
from shared.outbox.table import notify_channel

_encoder = msgspec.json.Encoder()


async def record(
    session: AsyncSession | AsyncConnection,
    table: Table,
    event_type: str,
    data: Any,
    *,
    user_id: uuid.UUID | None,
    correlation_id: str | None = None,
) -> Envelope:
    """Record the domain event ``event_type`` for ``user_id`` in the outbox ``table``.

    ``data`` (a Struct, dataclass or dict) travels as JSON; the correlation id is the
    current request's unless given (work done for an earlier request). Nothing is
    committed here, see :func:`add_event`.
    """
    envelope = event_envelope(event_type, data, user_id=user_id, correlation_id=correlation_id)
    await add_event(session, table, envelope)
    return envelope


def event_envelope(
    event_type: str, data: Any, *, user_id: uuid.UUID | None, correlation_id: str | None = None
) -> Envelope:
    """The envelope :func:`record` writes (the current request's correlation id unless
    given)."""
    return Envelope(
        type=event_type,
        user_id=user_id,
        data=msgspec.to_builtins(data),
        correlation_id=correlation_id or current_correlation_id(),
    )


async def add_event(
    session: AsyncSession | AsyncConnection,
    table: Table,
    envelope: Envelope,
    *,
    routing_key: str | None = None,
) -> None:
    """Insert ``envelope`` into the outbox ``table`` in the caller's transaction.

    Nothing is committed here: the event becomes visible (and is published) only if the
    caller's transaction commits, and disappears with it on rollback. The same statement
    calls ``pg_notify`` on the table's channel; Postgres delivers notifications only at
    commit (and folds identical ones of a transaction into one), so the relay wakes once
    per committed transaction. The routing key is the envelope type (docs/design.md §4) unless
    ``routing_key`` says otherwise (a job queue's name, for the default exchange).
    """
    inserted = (
        insert(table)
        .values(
            event_id=envelope.id,
            type=envelope.type,
            routing_key=envelope.type if routing_key is None else routing_key,
            payload=msgspec.to_builtins(envelope),
        )
        .returning(table.c.id)
        .cte("outbox_insert")
    )
    notify = select(func.pg_notify(literal(notify_channel(table)), literal(""))).select_from(
        inserted
    )
    await session.execute(notify)


async def add_events(
    session: AsyncSession | AsyncConnection | asyncpg.Connection,
    table: Table,
    envelopes: Sequence[Envelope],
    *,
    routing_key: str | None = None,
) -> int:
    """Insert many envelopes in one statement (their order is the publication order).

    Same guarantees as :func:`add_event`. The rows travel as four arrays unnested by
    Postgres, so 10,000 events are one round trip and one statement whatever the driver's
    parameter limit. Returns how many rows were written.
    """
    if not envelopes:
        return 0
    name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    statement = (
        f"WITH inserted AS ("  # noqa: S608 - identifiers come from our own Table
        f" INSERT INTO {name} (event_id, type, routing_key, payload)"
        " SELECT e.event_id, e.type, e.routing_key, e.payload::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])"
        "      WITH ORDINALITY AS e(event_id, type, routing_key, payload, n)"
        " ORDER BY e.n RETURNING 1)"
        " SELECT count(*), pg_notify($5, '') FROM inserted"
    )
    parameters = (
        [envelope.id for envelope in envelopes],
        [envelope.type for envelope in envelopes],
        [envelope.type if routing_key is None else routing_key for envelope in envelopes],
        [_encoder.encode(envelope).decode() for envelope in envelopes],
        notify_channel(table),
    )
    if isinstance(session, AsyncSession | AsyncConnection):
        connection = session if isinstance(session, AsyncConnection) else await session.connection()
        result = await connection.exec_driver_sql(statement, parameters)
        return int(result.scalar_one())
    return int(await session.fetchval(statement, *parameters))
