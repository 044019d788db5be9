"""``contexts``: generate the backend context files of a project in one command.

    contexts generate PROJECT_DIR [--via http|amqp] [--generator template|llm] [--regenerate]

reads ``PROJECT_DIR/.claude_tasks/task_registry.json`` and the documents it refers to,
submits a job through the gateway (or the broker), shows its progress per sub-batch,
prints the summary and writes ``.claude_tasks/contexts/*.md`` and the updated registry
(the previous one kept as ``task_registry.json.bak``).

Exit codes: 0 every task got its context; 1 some task failed (the others are written;
``POST /api/v1/contexts/jobs/{id}/retry`` redoes the failed ones in the same job, and so
does running the command again, in a new one);
2 usage, credentials, input or connection problem (the message says which).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from contexts_cli.amqp import submit_over_amqp
from contexts_cli.gateway_client import PERSONAL_TOKEN_PREFIX, USAGE_ERROR, CliError, Gateway
from contexts_cli.progress import follow
from contexts_cli.project import (
    TASKS_DIR,
    Project,
    ProjectError,
    read_archive,
    read_project,
    write_results,
)

ALL_DONE, SOME_FAILED = 0, 1
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/todo_platform"
MAX_FAILURES_SHOWN = 20


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    root = argparse.ArgumentParser(
        prog="contexts", description="Backend context generation through the todo platform."
    )
    commands = root.add_subparsers(dest="command", required=True)
    generate = commands.add_parser(
        "generate",
        help="generate the context files of PROJECT_DIR's ready backend function tasks",
        description="Submit PROJECT_DIR/.claude_tasks/task_registry.json, follow the job, "
        "write .claude_tasks/contexts/*.md and the updated registry.",
    )
    generate.add_argument("project_dir", metavar="PROJECT_DIR", type=Path)
    generate.add_argument(
        "--gateway-url", default=env("CONTEXTS_GATEWAY_URL", DEFAULT_GATEWAY),
        help="the gateway (env CONTEXTS_GATEWAY_URL; default %(default)s)",
    )  # fmt: skip
    generate.add_argument("--email", default=env("CONTEXTS_EMAIL"), help="env CONTEXTS_EMAIL")
    generate.add_argument(
        "--password", default=env("CONTEXTS_PASSWORD"),
        help="better: env CONTEXTS_PASSWORD, or leave it out to be asked (a password on the "
        "command line is visible to other users of the machine)",
    )  # fmt: skip
    generate.add_argument(
        "--token", default=env("CONTEXTS_TOKEN"),
        help="instead of email and password: a personal access token (tdp_..., made with "
        "POST /api/v1/auth/tokens, with the contexts scope; it outlives a long job), or a "
        "login's access token (valid 15 minutes). Better: env CONTEXTS_TOKEN",
    )  # fmt: skip
    generate.add_argument("--generator", choices=("template", "llm"), default="template")
    generate.add_argument(
        "--regenerate", action="store_true", help="also redo tasks already context_ready"
    )
    generate.add_argument(
        "--via", choices=("http", "amqp"), default="http",
        help="submit through the gateway (http) or the broker (amqp); progress and results "
        "always come from the gateway",
    )  # fmt: skip
    generate.add_argument(
        "--amqp-url", default=env("CONTEXTS_AMQP_URL", DEFAULT_AMQP),
        help="the broker for --via amqp (env CONTEXTS_AMQP_URL)",
    )  # fmt: skip
    generate.add_argument(
        "--timeout", type=float, default=3600.0,
        help="seconds to wait for the job to finish (default %(default)s)",
    )  # fmt: skip
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: the exit code (the installed ``contexts`` wrapper exits with it)."""
    arguments = parser().parse_args(argv)  # exits 2 on usage errors
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = asyncio.run(generate(arguments, console))
    except (CliError, ProjectError) as exc:
        errors.print(f"error: {getattr(exc, 'message', exc)}", style="bold red", markup=False)
        code = getattr(exc, "exit_code", USAGE_ERROR)
    except KeyboardInterrupt:
        errors.print("interrupted; the job goes on in the service")
        code = 130
    return code


async def generate(arguments: argparse.Namespace, console: Console) -> int:
    """Read the project, submit, follow, summarise, write; the exit code by the outcome."""
    if arguments.email and not arguments.token and not arguments.password:
        arguments.password = _ask_password(arguments.email)
    if not arguments.token and not (arguments.email and arguments.password):
        raise CliError("credentials needed: --token, or --email and --password")
    if arguments.via == "amqp" and (arguments.token or "").startswith(PERSONAL_TOKEN_PREFIX):
        # The broker's consumer verifies access tokens itself; only the gateway takes
        # personal tokens.
        raise CliError(
            "--via amqp needs an access token, not a personal access token: "
            "use --via http, or --email and --password"
        )
    project = read_project(arguments.project_dir)
    for missing in project.missing_documents:
        console.print(f"note: {missing} is referenced but not in the project", markup=False)
    body = project.job_body(generator=arguments.generator, regenerate=arguments.regenerate)
    gateway = Gateway(arguments.gateway_url)
    try:
        if arguments.token:
            gateway.token = arguments.token
        else:
            await gateway.login(arguments.email, arguments.password)
        assert gateway.token is not None
        if arguments.via == "amqp":
            accepted = await submit_over_amqp(arguments.amqp_url, gateway.token, body)
        else:
            accepted = await gateway.submit(body)
        job_id = str(accepted["job_id"])
        console.print(
            f"job {job_id}: {accepted.get('total_tasks', 0)} task(s) in "
            f"{accepted.get('sub_batches', 0)} sub-batch(es)"
        )
        job = await follow(gateway, job_id, console, patience=arguments.timeout)
        summary = await gateway.summary(job_id)
        console.print(summary, markup=False, soft_wrap=True)
        for warning in job.get("warnings") or []:
            if warning not in summary:  # e.g. missing specifications
                console.print(warning, style="yellow", markup=False, soft_wrap=True)
        await _collect(gateway, job, project, console)
        if int(job.get("failed", 0)):
            await _report_failures(gateway, job_id, console)
    finally:
        await gateway.close()
    return _exit_code(job, console)


async def _collect(
    gateway: Gateway, job: dict[str, Any], project: Project, console: Console
) -> None:
    """Write the job's context files and updated registry into the project."""
    if int(job.get("done", 0)) == 0:
        console.print("nothing new to write")
        return
    job_id = str(job["job_id"])
    archive = await gateway.archive(job_id)
    if archive is not None:
        contexts, registry = read_archive(archive)
    else:  # no archive offered: the same content, file by file
        contexts, registry = {}, None
    if registry is None:
        registry = await gateway.registry(job_id)
    if archive is None:
        for item in await gateway.contexts(job_id):
            if item.get("status", "done") == "done":
                contexts[str(item["path"])] = await gateway.context(job_id, str(item["task_id"]))
    written = write_results(project, contexts, registry)
    console.print(f"wrote {len(written.contexts)} context file(s) to {TASKS_DIR}/contexts/")
    if written.registry_updated and written.backup is not None:
        console.print(
            f"updated {TASKS_DIR}/task_registry.json (previous version: {written.backup.name})"
        )


async def _report_failures(gateway: Gateway, job_id: str, console: Console) -> None:
    failed = [item for item in await gateway.contexts(job_id) if item.get("status") == "failed"]
    for item in failed[:MAX_FAILURES_SHOWN]:
        console.print(
            f"failed: {item['task_id']} ({item.get('function_name', '?')}): {item.get('error')}",
            style="red",
            markup=False,
        )
    if len(failed) > MAX_FAILURES_SHOWN:
        console.print(f"... and {len(failed) - MAX_FAILURES_SHOWN} more", style="red")


def _ask_password(email: str) -> str | None:
    """The password from the terminal (not echoed); None without one to ask on."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"password for {email}: ") or None


def _exit_code(job: dict[str, Any], console: Console) -> int:
    status = job.get("status")
    if status == "completed":
        return ALL_DONE
    console.print(
        f"job {job.get('job_id')} {status}: {job.get('failed', 0)} task(s) failed; "
        f"retry them with POST /api/v1/contexts/jobs/{job.get('job_id')}/retry, or run this "
        "command again (the tasks done are skipped)",
        style="red",
        markup=False,
    )
    return SOME_FAILED


if __name__ == "__main__":
    sys.exit(main())
