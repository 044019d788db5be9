"""What every benchmark starts from, so the benchmarks measure and nothing else.

A uniquely named database (migrated, dropped afterwards), a fresh JWT key pair and a work
folder for the processes' logs; and one place that writes the results.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared.tokens import generate_key_pair  # noqa: E402
from tests.support.database import admin_execute  # noqa: E402
from tests.support.database import database_url as scratch_url  # noqa: E402

RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Scratch:
    env: dict[str, str]  # the settings every process of the run gets
    work: Path  # logs and keys
    private_key: bytes


@contextmanager
def scratch_environment(name: str, **settings: str) -> Iterator[Scratch]:
    """A migrated scratch database and a key pair; ``settings`` are added to the env."""
    db_name = f"tp_bench_{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix=f"tp-bench-{name}-"))
    private, public = generate_key_pair()
    (work / "private.pem").write_bytes(private)
    (work / "public.pem").write_bytes(public)
    env = {
        "DATABASE_URL": scratch_url(db_name),
        "JWT_PRIVATE_KEY_FILE": str(work / "private.pem"),
        "JWT_PUBLIC_KEY_FILE": str(work / "public.pem"),
        "RATE_LIMIT": "100000000/minute",  # measure the path, not its rejections
        **settings,
    }
    subprocess.run(
        [sys.executable, "scripts/migrate.py"], cwd=REPO, env={**os.environ, **env},
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield Scratch(env, work, private)
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (granian's worker)."""
    return sum(_cpu_of(task) for task in process_tree(pid))


def command_cpu_seconds(command: str) -> float:
    """CPU time of every process named ``command`` (the machine's PostgreSQL, RabbitMQ)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _command_of(int(entry.name)) == command:
            total += _cpu_of(int(entry.name))
    return total


def _stat(pid: int) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of ``/proc/<pid>/stat``; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, rest = text.rpartition(")")
    return head.partition("(")[2], rest.split()


def _command_of(pid: int) -> str | None:
    stat = _stat(pid)
    return None if stat is None else stat[0]


def _cpu_of(pid: int) -> float:
    stat = _stat(pid)
    if stat is None:
        return 0.0
    fields = stat[1]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The machine's servers every path uses, by command name. Their CPU is read whole: whatever
# else uses them during a measurement (a dev instance, autovacuum) counts too.
SHARED_SERVERS = {"postgres": "postgres", "rabbitmq": "beam.smp"}


class CpuMeter:
    """The CPU the parts of the box spend on a piece of work, per unit of it: our processes
    (name -> pid, with their children), PostgreSQL and RabbitMQ, and ``this_process`` (a
    benchmark's own client) when asked. Read twice: :meth:`start`, then :meth:`per`."""

    def __init__(self, processes: dict[str, int] | None = None, *, this_process: bool = False):
        self.parts: dict[str, Callable[[], float]] = {
            name: functools.partial(cpu_seconds, pid) for name, pid in (processes or {}).items()
        }
        for name, command in SHARED_SERVERS.items():
            self.parts[name] = functools.partial(command_cpu_seconds, command)
        if this_process:
            self.parts["client"] = time.process_time
        self.started: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self.started = {name: read() for name, read in self.parts.items()}
        return self

    def per(self, units: float) -> dict[str, float]:
        """Milliseconds of CPU per unit for each part, and their ``total``."""
        spent = {
            name: (read() - self.started[name]) * 1000 / units for name, read in self.parts.items()
        }
        spent["total"] = sum(spent.values())
        return {name: round(ms, 3) for name, ms in spent.items()}


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found = [pid]
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in path.read_text().split():
            found += process_tree(int(child))
    return found


def peak_rss_mib(pid: int) -> float:
    """The largest resident set of a process tree's members since their last reset."""
    peaks = [0.0]
    for member in process_tree(pid):
        status = Path(f"/proc/{member}/status").read_text()
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        peaks.append(int(peak.split()[1]) / 1024)
    return max(peaks)


def reset_peak_rss(pid: int) -> None:
    """Start a new peak (Linux: writing 5 to clear_refs resets VmHWM)."""
    for member in process_tree(pid):
        Path(f"/proc/{member}/clear_refs").write_text("5")


def machine() -> str:
    """What the figures were measured on: CPU model, cores, memory, Python."""
    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.machine(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.machine()
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def write_results(name: str, report: dict[str, Any], *, latest: bool = False) -> None:
    """``bench/results/<name>-<time>.json`` (git-ignored), with when and on what it ran;
    ``latest``: also ``bench/results/latest.json``."""
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **report,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"results written to {out.relative_to(REPO)}")
    if latest:
        (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
