"""Start our services as real processes (granian) on free ports, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)
    # Started in a session (and process group) of its own: granian serves from a child
    # process, and killing the group is the only way to take both down at once.
    own_group: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # Killing granian's main process alone would orphan its worker child.
                self._kill_children()
                self.process.kill()
                self.process.wait()
        if self.own_group:
            self._kill_group()  # a worker child that outlived its parent

    def kill_hard(self) -> None:
        """SIGKILL the whole process group (server and its workers): a crash, no cleanup."""
        if not self.own_group:
            raise RuntimeError(f"{self.name} was not started with own_group=True")
        self._kill_group()
        self.process.wait()

    def _kill_children(self) -> None:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        for pid in found.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)


def start_service(
    name: str,
    factory: str,
    env: dict[str, str],
    log_dir: Path,
    timeout: float = 60.0,
    *,
    own_group: bool = False,
    port: int | None = None,
) -> ServiceProcess:
    """Run ``factory`` (``module:create_app``) under granian; return once /health/live answers.

    ``own_group`` starts it in a new session, for tests that kill it with :meth:`kill_hard`;
    ``port`` (default: a free one) restarts a service where its clients expect it.
    The generous ``timeout`` is for a loaded machine, where imports alone can take seconds.
    """
    port = port or free_port()
    log_path = log_dir / f"{name}-{port}.log"
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop",
        "--log-config", str(REPO_ROOT / "deploy" / "granian-logging.json"), factory,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    service = ServiceProcess(name, port, log_path, process, env, own_group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start-up:\n{service.log()}")
        try:
            if httpx.get(f"{service.url}/health/live", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    service.stop()
    raise RuntimeError(f"{name} did not start within {timeout}s:\n{service.log()}")
