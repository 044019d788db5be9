"""Keyset cursors of ``GET /api/v1/contexts/jobs`` (newest first).

A cursor is the urlsafe base64 (unpadded) of the JSON ``[created_at, id]`` of the last job
of a page; the next page starts strictly after that pair, so jobs submitted meanwhile
never make a page repeat or skip the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from shared import pagination
from shared.errors import invalid

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


def encode_cursor(created_at: datetime, job_id: uuid.UUID) -> str:
    return pagination.encode_cursor([created_at, job_id])


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The ``(created_at, id)`` a page starts after; 400 for anything else."""
    try:
        created_at, job_id = pagination.decode_cursor(
            cursor, max_length=MAX_CURSOR_LENGTH, as_type=tuple[Any, uuid.UUID]
        )
        return pagination.cursor_instant(created_at), job_id
    except (ValueError, msgspec.MsgspecError) as exc:
        raise invalid("cursor", "is not a cursor of this list") from exc
