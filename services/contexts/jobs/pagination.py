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

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


def _after(parts: list[Any]) -> tuple[datetime, uuid.UUID]:
    created_at, job_id = parts
    return pagination.cursor_instant(created_at), msgspec.convert(job_id, uuid.UUID)


# No list name inside: the cursors of this list have always been the bare pair.
JOBS = pagination.Keyset(None, _after, max_length=MAX_CURSOR_LENGTH)
