"""The whole platform behind one gateway: todos (the root ``stack``'s), chat with its
offline engine and contexts, for the tests of the public API document and the API fuzzer
(which also starts a contexts worker, see :meth:`FullStack.start_worker`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.processes import ServiceProcess, start_service

if TYPE_CHECKING:
    from tests.support.stack import Stack

CONTEXTS_ENV = {
    "EVENTS_POLL_INTERVAL": "0.2",
    # No model: nothing listens on this port, so an ``llm`` task fails at once.
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": "test",
}
GATEWAY_ENV = {"RATE_LIMIT": "100000/minute", "LOGIN_MAX_FAILURES": "100000"}


@dataclass
class FullStack:
    gateway: ServiceProcess
    chat: ServiceProcess
    contexts: ServiceProcess
    log_dir: Path
    workers: list[ServiceProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.gateway.url

    def start_worker(self) -> ServiceProcess:
        """A contexts worker on the same database and vhost; stopped with :meth:`stop`.

        Not started with the stack: the contexts tests count on their own workers only."""
        env = {**self.contexts.env, "SERVICE_NAME": "contexts-worker"}
        worker = start_service(
            "contexts-worker", "services.contexts.worker.app:create_app", env, self.log_dir
        )
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def stop(self) -> None:
        self.stop_workers()
        for process in [self.gateway, self.contexts, self.chat]:
            process.stop()


def start_full_stack(stack: Stack) -> FullStack:
    """Chat and contexts on the stack's database and vhost, and a gateway that forwards to
    them and to the stack's todos (rate limits raised)."""
    started: list[ServiceProcess] = []
    try:
        chat_env = {**stack.todos.env, "OPENAI_API_KEY": "", "TODOS_URL": stack.todos.url}
        chat = start_service(
            "chat",
            "services.chat.app:create_app",
            {**chat_env, "SERVICE_NAME": "chat"},
            stack.log_dir,
        )
        started.append(chat)
        contexts_env = {**stack.todos.env, **CONTEXTS_ENV, "SERVICE_NAME": "contexts"}
        contexts = start_service(
            "contexts", "services.contexts.app:create_app", contexts_env, stack.log_dir
        )
        started.append(contexts)
        gateway = stack.start_gateway(chat_url=chat.url, contexts_url=contexts.url, **GATEWAY_ENV)
    except BaseException:
        for process in started:
            process.stop()
        raise
    return FullStack(gateway=gateway, chat=chat, contexts=contexts, log_dir=stack.log_dir)
