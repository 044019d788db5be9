"""The body of a job submission: ``POST /api/v1/contexts/jobs`` and a ``jobs.submit`` message.

The registry is kept as any JSON value here because its two shapes are checked by the
registry parser, which names the exact place of a problem.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.contexts.schemas import Generator


class JobOptions(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    generator: Generator = "template"
    regenerate: bool = False  # also redo tasks already context_ready


class JobRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    registry: Any
    documents: dict[str, str] = msgspec.field(default_factory=dict)
    options: JobOptions = msgspec.field(default_factory=JobOptions)
