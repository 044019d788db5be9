"""The example projects of the context pipeline, kept in the repository under ``examples/``.

``SAMPLES / "flat"`` and ``SAMPLES / "tree"`` each hold ``.claude_tasks/task_registry.json``
(one of the two registry shapes), the ``docs/*.md`` its tasks refer to, and
``expected.json``: what a correct run reports for it (tasks needing a context, sub-batches,
counts by function type, tasks already ``context_ready``, tasks whose spec reference
matches nothing, tasks that do not qualify). See ``examples/README.md``.
"""

from __future__ import annotations

from shared.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "examples"
