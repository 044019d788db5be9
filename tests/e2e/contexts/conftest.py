"""The contexts stack: the contexts service, a gateway in front of it, and its workers.

``contexts_stack`` (one per run) runs the contexts service on the run's database and
vhost, a gateway whose ``CONTEXTS_URL`` points at it, and one worker; a worker that does
not come up fails the run (no test is skipped for it). Tests talk to the gateway only;
users come from the root ``make_user`` (any gateway of the run logs them in). The stack's
type and the helpers that call the jobs API are in tests/support/contexts.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.contexts import ContextsStack, StartWorker, has_worker
from tests.support.processes import ServiceProcess, start_service
from tests.support.stack import Stack


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


@pytest.fixture
def needs_worker(contexts_stack: ContextsStack) -> None:
    """The stack's worker is running: a test that needs one fails when it is not."""
    assert has_worker(contexts_stack), "the contexts worker is not running: " + "\n".join(
        worker.log()[-2000:] for worker in contexts_stack.workers
    )


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
