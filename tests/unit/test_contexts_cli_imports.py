"""The ``contexts`` command is a client: no module of ``contexts_cli`` imports ``services``.

It runs on users' machines and talks to the platform over HTTP (and AMQP) only; what it
shares with the service is the published contract (docs/contexts.md, docs/messaging.md),
defined again on its side and compared with the service's here. The imports are read
from the source (every ``import`` and ``from ... import``, wherever it is), so an import
inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from shared.settings import REPO_ROOT

CLI = REPO_ROOT / "contexts_cli"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_the_cli_package_has_modules() -> None:
    names = {path.name for path in CLI.glob("*.py")}
    assert {"__init__.py", "main.py"} <= names


def test_no_cli_module_imports_services() -> None:
    offending = {
        f"{path.relative_to(REPO_ROOT)}: {module}"
        for path in sorted(CLI.rglob("*.py"))
        for module in imported_modules(path)
        if module == "services" or module.startswith("services.")
    }
    assert not offending, sorted(offending)


def test_the_cli_keeps_to_the_published_contract() -> None:
    """Its own copies of the contract's names are the service's."""
    from contexts_cli import amqp, progress
    from services.contexts import queues, schemas

    assert (amqp.SUBMIT_EXCHANGE, amqp.SUBMIT_ROUTING_KEY) == (
        queues.SUBMIT_EXCHANGE,
        queues.SUBMIT_ROUTING_KEY,
    )
    assert set(progress.FINISHED_STATUSES) == set(schemas.FINISHED_STATUSES)
