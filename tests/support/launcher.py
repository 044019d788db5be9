"""The container's launcher, deploy/serve.sh, run as a deployment runs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shared.settings import REPO_ROOT

SERVE = REPO_ROOT / "deploy" / "serve.sh"


def launcher_env(**extra: str) -> dict[str, str]:
    """The environment of a user with the project's virtualenv on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", **extra}
