"""The vocabulary every part of the contexts service shares: generators and statuses.

The request and response bodies live with what serves them: the job request in
``intake/schemas.py``, the job resource and its list in ``jobs/schemas.py``, the list of
a job's contexts in ``results/schemas.py`` (msgspec Structs, docs/design.md §5).
"""

from __future__ import annotations

from typing import Literal

from services.contexts.generation.planned_task import KINDS

Generator = Literal["template", "llm"]
JobStatus = Literal["queued", "running", "completed", "completed_with_errors", "failed"]
TaskStatus = Literal["queued", "done", "failed"]
# A job in one of these states changes no more (unless retried).
FINISHED_STATUSES: tuple[JobStatus, ...] = ("completed", "completed_with_errors", "failed")
FUNCTION_TYPES: tuple[str, ...] = KINDS  # the kinds a context is counted by
