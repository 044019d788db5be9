"""What the controllers of the contexts API share: the jobs' path, its parameters, the 404.

Every route is under ``/api/v1/contexts/jobs``; those of one job take ``{job_id}`` and
answer 404 for a missing job and for another user's alike. The routes themselves are in
``jobs/controller.py`` (the job, its retry and its progress) and ``results/controller.py``
(what the job produced).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import PathParameter

from services.contexts.settings import ContextsSettings
from shared.errors import NotFound
from shared.openapi import raises

AuthRequest = Request[str, Any, Any]
Settings = NamedDependency[ContextsSettings]  # provided by shared.platform.ServicePlugin
JobId = Annotated[str, PathParameter(description="The job's id (a UUID)")]
BASE_PATH = "/api/v1/contexts/jobs"
# A job named in the path that is missing or another user's.
ONE_JOB = raises(NotFound)
