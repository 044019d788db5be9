"""Liveness and readiness endpoints every service serves.

``/health/live`` answers while the process runs (a restart is the only cure otherwise).
``/health/ready`` answers 200 only while every dependency the process needs to serve its
traffic answers: the database everywhere, the broker where consuming is the work. Each
check has a time limit, so a dependency that hangs makes the probe fail rather than hang.
Nothing is cached: the first probe after a dependency returns answers 200 again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from litestar import Controller, Response, get
from litestar.datastructures import State

CHECK_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Dependency:
    """A readiness check: ``answers`` says whether ``name`` can be used right now."""

    name: str
    answers: Callable[[], Awaitable[bool]]


async def _answers(dependency: Dependency) -> bool:
    try:
        return await asyncio.wait_for(dependency.answers(), CHECK_TIMEOUT)
    except Exception:
        return False


class HealthController(Controller):
    path = "/health"
    include_in_schema = False

    @get("/live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, state: State) -> Response[dict[str, object]]:
        dependencies: list[Dependency] = state.readiness
        results = await asyncio.gather(*(_answers(d) for d in dependencies))
        checks = {d.name: ok for d, ok in zip(dependencies, results, strict=True)}
        ok = all(results)
        return Response(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )
