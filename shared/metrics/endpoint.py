"""``GET /metrics``: Prometheus text format, no authentication.

Served on each process's own port beside the health endpoints. The Ingress routes only
``/api`` and ``/schema`` to the gateway, so metrics stay inside the cluster (see
docs/operations.md).
"""

from __future__ import annotations

from litestar import Controller, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from shared.metrics.scrape import render


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/")
    async def metrics(self) -> Response[bytes]:
        return Response(await render(), media_type=CONTENT_TYPE_LATEST)
