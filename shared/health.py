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
from typing import Any, Protocol, runtime_checkable

from litestar import Controller, Litestar, Request, Response, get

CHECK_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Dependency:
    """A readiness check: ``answers`` says whether ``name`` can be used right now."""

    name: str
    answers: Callable[[], Awaitable[bool]]


@runtime_checkable
class ReportsReadiness(Protocol):
    """A plugin whose dependencies the service needs to serve its traffic."""

    def readiness(self) -> list[Dependency]: ...


def readiness_checks(app: Litestar) -> list[Dependency]:
    """The checks of every plugin of ``app`` that reports readiness, in plugin order."""
    return [d for p in app.plugins if isinstance(p, ReportsReadiness) for d in p.readiness()]


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
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
        dependencies = readiness_checks(request.app)
        results = await asyncio.gather(*(_answers(d) for d in dependencies))
        checks = {d.name: ok for d, ok in zip(dependencies, results, strict=True)}
        ok = all(results)
        return Response(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )
