"""What every benchmark starts from, so the benchmarks measure and nothing else.

A uniquely named database (migrated, dropped afterwards), a fresh JWT key pair and a work
folder for the processes' logs; and one place that writes the results.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
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
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in process_tree(pid):
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


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
