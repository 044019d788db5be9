"""Liveness and readiness endpoints every service serves."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State

from shared.db import database_answers


class HealthController(Controller):
    path = "/health"
    include_in_schema = False

    @get("/live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, state: State) -> Response[dict[str, object]]:
        checks = {"database": await database_answers(state.engine)}
        ok = all(checks.values())
        return Response(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )
