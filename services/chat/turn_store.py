"""The SQL of a chat turn: one statement begins it, one ends it.

Every turn runs these two, so they run on a bare asyncpg connection
(:func:`shared.db.driver_connection`), each a transaction of its own: no ORM session, no
BEGIN/COMMIT round trips. Data-modifying CTEs let one statement do what took four:

- :func:`begin_turn` checks that the conversation is the caller's (or creates it), marks
  it active, stores the user's message and reads the history window before it (the
  statement's snapshot does not see its own insert);
- :func:`end_turn` appends the tool calls and the reply in order (the identity column
  numbers the rows of one INSERT in the order they are produced) and marks the
  conversation active again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from services.chat.engine_api import HistoryMessage

# $1 conversation, $2 user, $3 message id, $4 the user's text, $5 the history window.
_RESUME = """
    WITH conversation AS (
        UPDATE chat.conversations SET last_active_at = now()
        WHERE id = $1 AND user_id = $2 RETURNING id
    ), message AS (
        INSERT INTO chat.messages (id, conversation_id, role, content)
        SELECT $3, id, 'user', $4 FROM conversation RETURNING id
    )
    SELECT (SELECT count(*) FROM message) AS stored, (
        SELECT coalesce(json_agg(h ORDER BY h.seq), '[]')::text FROM (
            SELECT seq, role, content, tool_name, tool_arguments, tool_result
            FROM chat.messages WHERE conversation_id = (SELECT id FROM conversation)
            ORDER BY seq DESC LIMIT $5
        ) h
    ) AS history
"""

# $1 conversation, $2 user, $3 title, $4 message id, $5 the user's text.
_CREATE = """
    WITH conversation AS (
        INSERT INTO chat.conversations (id, user_id, title) VALUES ($1, $2, $3) RETURNING id
    )
    INSERT INTO chat.messages (id, conversation_id, role, content)
    SELECT $4, id, 'user', $5 FROM conversation
"""

# $1 conversation; then one array per column of the messages, in order.
_END = """
    WITH appended AS (
        INSERT INTO chat.messages
            (id, conversation_id, role, content, tool_name, tool_arguments, tool_result)
        SELECT r.id, $1, r.role, r.content, r.tool_name, r.tool_arguments::jsonb,
               r.tool_result::jsonb
        FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
             WITH ORDINALITY AS r(id, role, content, tool_name, tool_arguments, tool_result, n)
        ORDER BY r.n
        RETURNING 1
    )
    UPDATE chat.conversations SET last_active_at = now() WHERE id = $1
"""


async def begin_turn(
    connection: asyncpg.Connection,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    *,
    title: str,
    message: str,
    window: int,
) -> tuple[uuid.UUID, list[HistoryMessage]] | None:
    """Store the user's message (in a new conversation titled ``title`` when
    ``conversation_id`` is None); the conversation and the ``window`` messages before the
    new one, oldest first. ``None`` when the conversation is not the caller's."""
    if conversation_id is None:
        conversation_id = uuid.uuid4()
        await connection.execute(_CREATE, conversation_id, user_id, title, uuid.uuid4(), message)
        return conversation_id, []
    row = await connection.fetchrow(
        _RESUME, conversation_id, user_id, uuid.uuid4(), message, window
    )
    if row["stored"] == 0:
        return None
    return conversation_id, msgspec.json.decode(row["history"], type=list[HistoryMessage])


async def end_turn(
    connection: asyncpg.Connection, conversation_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    """Append messages in the order given (a row gives ``role`` and what else it has: ``id``,
    ``content``, ``tool_name``, ``tool_arguments``, ``tool_result``)."""
    if not rows:
        return
    await connection.execute(
        _END,
        conversation_id,
        [row.get("id") or uuid.uuid4() for row in rows],
        [row["role"] for row in rows],
        [row.get("content", "") for row in rows],
        [row.get("tool_name") for row in rows],
        [_json_or_none(row.get("tool_arguments")) for row in rows],
        [_json_or_none(row.get("tool_result")) for row in rows],
    )


def _json_or_none(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()
