"""The sample projects (registry + docs + expected.json) kept beside the repository."""

from __future__ import annotations

from shared.settings import REPO_ROOT

SAMPLES = REPO_ROOT.parent / "shared" / "samples"
