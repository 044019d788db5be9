"""A throwaway PostgreSQL cluster owned by one test, which may stop and restart it at will.

Tests of outages cannot stop the machine's shared server (other processes use it), so
they get a cluster of their own: a new data directory in a temporary folder, trust auth,
127.0.0.1 on a free port, the unix socket inside the folder, durability off (fsync) since
nothing in it outlives the test::

    with private_postgres() as server:
        url = server.database_url("app")  # postgresql+asyncpg://postgres@127.0.0.1:PORT/app
        run_migrations(url)               # scripts/migrate.py, as an operator runs it
        server.stop()                     # pg_ctl stop -m fast (waits)
        server.start()                    # the same port again

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user and
its commands run through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.settings import REPO_ROOT
from tests.support.processes import free_port

POSTGRES_ROOT = Path("/usr/lib/postgresql")
OWNER = "postgres"  # the account that owns the cluster when the tests run as root
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
}


def postgres_bin() -> Path:
    """The bin folder of the newest PostgreSQL installed (``/usr/lib/postgresql/<ver>/bin``)."""
    versions = sorted(
        (path for path in POSTGRES_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(f"no PostgreSQL server binaries under {POSTGRES_ROOT}")
    return versions[-1]


class PrivatePostgres:
    """A cluster in ``root`` (data, socket and log), served on ``port`` while started."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log_path = root / "server.log"
        self._bin = postgres_bin()
        self._as_owner = os.geteuid() == 0

    def database_url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        lines = [f"{name} = {value}" for name, value in SETTINGS.items()]
        lines += [f"port = {self.port}", f"unix_socket_directories = '{self.root}'"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start the server (on the same port as before) and wait until it accepts."""
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "30"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server and wait until it is gone; ``fast`` disconnects every client."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "30")

    @property
    def running(self) -> bool:
        status = self._run("pg_ctl", "status", "-D", str(self.data), check=False)
        return status.returncode == 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / tool), *args]
        if self._as_owner:
            command = ["runuser", "-u", OWNER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{self.log()}"
            )
        return done


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster, started; stopped and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="pg-private-"))
    try:
        if os.geteuid() == 0:
            owner = pwd.getpwnam(OWNER)
            os.chown(root, owner.pw_uid, owner.pw_gid)
        server = PrivatePostgres(root, free_port())
        server.init()
        server.start()
        try:
            yield server
        finally:
            if server.running:
                server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_migrations(url: str) -> None:
    """Create the database if missing and migrate every schema (``scripts/migrate.py``)."""
    subprocess.run(
        [sys.executable, "scripts/migrate.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
        capture_output=True,
        timeout=120,
    )
