"""The contexts stack: the contexts service, a gateway in front of it, and its workers.

``contexts_stack`` (one per run) runs the contexts service on the run's database and
vhost, a gateway whose ``CONTEXTS_URL`` points at it, and one worker; a worker that does
not come up fails the run (no test is skipped for it). Tests talk to the gateway only;
users come from the root ``make_user`` (any gateway of the run logs them in).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.contexts.schemas import FINISHED_STATUSES
from tests.conftest import Stack, User
from tests.support.processes import ServiceProcess, start_service
from tests.support.samples import SAMPLES

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


@pytest.fixture(scope="session")
def contexts_stack(stack: Stack, service_env: dict[str, str]) -> Iterator[ContextsStack]:
    env = {
        **service_env,
        "EVENTS_POLL_INTERVAL": "0.2",
        "METRICS_COUNTS_INTERVAL": "0",  # every scrape counts jobs and tasks afresh
        # No model here: nothing listens on this port, so an ``llm`` task fails at once
        # (tests that need a model start their own worker pointed at a fake one).
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_API_KEY": "test",
    }
    contexts = start_service(
        "contexts",
        "services.contexts.app:create_app",
        {**env, "SERVICE_NAME": "contexts"},
        stack.log_dir,
    )
    try:
        gateway = stack.start_gateway(contexts_url=contexts.url)
    except Exception:
        contexts.stop()
        raise
    running = ContextsStack(gateway=gateway, contexts=contexts, env=env, log_dir=stack.log_dir)
    try:
        running.start_worker()
        yield running
    finally:
        running.stop()


@pytest.fixture
def capi(contexts_stack: ContextsStack) -> Iterator[httpx.Client]:
    """A client of the gateway that fronts the contexts service."""
    with httpx.Client(base_url=contexts_stack.gateway.url, timeout=30) as client:
        yield client


def has_worker(stack: ContextsStack) -> bool:
    return any(worker.process.poll() is None for worker in stack.workers)


@pytest.fixture
def needs_worker(contexts_stack: ContextsStack) -> None:
    """The stack's worker is running: a test that needs one fails when it is not."""
    assert has_worker(contexts_stack), "the contexts worker is not running: " + "\n".join(
        worker.log()[-2000:] for worker in contexts_stack.workers
    )


StartWorker = Callable[..., ServiceProcess]


@pytest.fixture
def own_workers(contexts_stack: ContextsStack) -> Iterator[StartWorker]:
    """Start workers of this test only (each in a process group of its own, so
    ``kill_hard`` takes granian and its child down together); the stack's workers are
    stopped meanwhile and one is started again afterwards."""
    for worker in contexts_stack.workers:
        worker.stop()
    contexts_stack.workers.clear()
    mine: list[ServiceProcess] = []

    def start(**overrides: str) -> ServiceProcess:
        worker = contexts_stack.start_worker(own_group=True, **overrides)
        contexts_stack.workers.remove(worker)
        mine.append(worker)
        return worker

    yield start
    for worker in mine:
        worker.stop()
    contexts_stack.start_worker()  # the run's default worker, for the tests that follow


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
