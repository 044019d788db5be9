"""The contexts service in end-to-end tests: its stack (the service, a gateway in front of
it, its workers), the jobs API's inputs, and calls of it as a user.

The fixtures (``contexts_stack``, ``capi``, ``needs_worker``, ``own_workers``) are in
tests/e2e/contexts/conftest.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from services.contexts.schemas import FINISHED_STATUSES
from tests.support.processes import ServiceProcess, start_service
from tests.support.samples import SAMPLES

if TYPE_CHECKING:
    from tests.support.stack import User

JOBS = "/api/v1/contexts/jobs"
WORKER_FACTORY = "services.contexts.worker.app:create_app"


@dataclass
class ContextsStack:
    gateway: ServiceProcess
    contexts: ServiceProcess
    env: dict[str, str]
    log_dir: Path
    workers: list[ServiceProcess] = field(default_factory=list)

    def start_worker(self, *, own_group: bool = False, **overrides: str) -> ServiceProcess:
        """Another worker process on the run's database and vhost, once it answers
        (raises when it does not start). ``own_group``: killable with ``kill_hard``."""
        env = {**self.env, "SERVICE_NAME": "contexts-worker"}
        env.update({key.upper(): value for key, value in overrides.items()})
        worker = start_service(
            "contexts-worker", WORKER_FACTORY, env, self.log_dir, own_group=own_group
        )
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in [*self.workers, self.gateway, self.contexts]:
            process.stop()


def has_worker(stack: ContextsStack) -> bool:
    return any(worker.process.poll() is None for worker in stack.workers)


StartWorker = Callable[..., ServiceProcess]


# -- inputs ------------------------------------------------------------------------------
def sample_request(name: str, **options: Any) -> dict[str, Any]:
    """The POST body for ``samples/<name>``: its registry, its documents, ``options``."""
    folder = SAMPLES / name
    registry = json.loads((folder / ".claude_tasks" / "task_registry.json").read_text())
    documents = {
        str(path.relative_to(folder)): path.read_text()
        for path in sorted((folder / "docs").rglob("*"))
        if path.is_file()
    }
    return {"registry": registry, "documents": documents, "options": options}


def expected(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name / "expected.json").read_text())


def flat_registry(count: int, *, status: str = "ready") -> dict[str, Any]:
    """A flat registry of ``count`` qualifying service functions without spec refs."""
    return {
        "tasks": [
            {
                "id": f"backend_task_{n:05d}",
                "title": f"Implement step{n}",
                "category": "backend",
                "type": "function",
                "level": 3,
                "status": status,
                "function": {"name": f"step{n}", "kind": "service", "module": "bulk"},
                "dependencies": [],
            }
            for n in range(count)
        ]
    }


# -- helpers -----------------------------------------------------------------------------


def submit(client: httpx.Client, user: User, body: Any) -> httpx.Response:
    return client.post(JOBS, json=body, headers=user.headers)


def wait_finished(
    client: httpx.Client, user: User, job_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    """The job once it is finished (polling its resource)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{JOBS}/{job_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in FINISHED_STATUSES:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job not finished in {timeout}s: {job}")
        time.sleep(0.2)


def iter_frames(client: httpx.Client, user: User, job_id: str) -> Iterator[tuple[str, str, Any]]:
    """The (event, id, data) of a job's event stream as they arrive, until it ends."""
    with client.stream("GET", f"{JOBS}/{job_id}/events", headers=user.headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, event_id, data = "", "", ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("id: "):
                event_id = line.removeprefix("id: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and name:
                yield name, event_id, json.loads(data)
                name, event_id, data = "", "", ""


def iter_events(client: httpx.Client, user: User, job_id: str) -> Iterator[tuple[str, Any]]:
    """The (event, data) pairs of a job's event stream as they arrive, until it ends."""
    for name, _, data in iter_frames(client, user, job_id):
        yield name, data


def read_events(client: httpx.Client, user: User, job_id: str) -> list[tuple[str, Any]]:
    return list(iter_events(client, user, job_id))
