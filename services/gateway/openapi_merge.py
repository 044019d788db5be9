"""One OpenAPI document for the whole public API, served by the gateway at ``/schema``.

``GET /schema/openapi.json`` is the gateway's own operations (auth, the event stream) plus
every operation of todos, chat and contexts that the gateway forwards, under the paths a
client calls; ``GET /schema`` renders it with Redoc (as Litestar's own pages do). The
gateway's own document alone stays at ``/schema/gateway/openapi.json``.

Each service's document is fetched from ``<SERVICE_URL>/schema/openapi.json`` with the
gateway's upstream HTTP client at the first request for the document, and kept:

- a service that cannot be reached (or answers anything but a document) is left out, and
  fetched again at the next request for the document, until it answers; the gateway's own
  part is always there;
- a document older than :data:`REFRESH_SECONDS` is fetched again (so a redeployed service
  shows its new API); if that fails, the previous one is kept.

Merging (:func:`merge`, pure):

- only paths under the prefixes the gateway forwards to that service are taken;
- every forwarded operation also documents what the gateway itself can answer for it
  (401, 413 for a body, 429, and 502/503/504 when the service fails), in the envelope;
- components: an identical one is shared; a name that two documents use for different
  content is renamed in the later one (``Todo`` -> ``ChatTodo``) and its ``$ref``s
  rewritten; an operationId already taken gets the service's prefix too.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from litestar import Litestar, Request, Response, Router, get
from litestar.enums import MediaType, OpenAPIMediaType
from litestar.openapi.plugins import RedocRenderPlugin

from services.gateway.proxy import BadGateway, UpstreamClient
from shared.errors import (
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UpstreamTimeout,
)
from shared.openapi_errors import Documented, add_error_responses

logger = logging.getLogger("gateway.openapi")

SCHEMA_PATH = "/schema"
OWN_SCHEMA_PATH = "/schema/gateway"  # Litestar's document of the gateway's own routes
UPSTREAM_DOCUMENT = "/schema/openapi.json"
REFRESH_SECONDS = 300.0
FETCH_TIMEOUT = 5.0
TITLE = "Todo platform API"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Upstream:
    """A service the gateway forwards ``prefix`` (and everything under it) to."""

    service: str
    prefix: str
    base_url: str

    def routes(self, path: str) -> bool:
        """Whether the gateway forwards ``path`` to this service (as ``proxy_route`` does)."""
        return path == self.prefix or path.startswith(self.prefix + "/")


def proxy_errors(upstream: Upstream, operation: dict[str, Any]) -> list[Documented]:
    """What the gateway answers for a forwarded operation besides the service's own."""
    name = upstream.service
    errors: list[Documented] = []
    if operation.get("security"):
        errors.append(Unauthorized)
    if "requestBody" in operation:
        errors.append(PayloadTooLarge)
    errors += [
        RateLimited,
        BadGateway(f"The {name} service answered badly"),
        ServiceUnavailable(f"The {name} service is unavailable"),
        UpstreamTimeout(f"The {name} service did not answer in time"),
    ]
    return errors


# -- merging --------------------------------------------------------------------------


def _rewrite_refs(value: Any, renames: dict[str, str]) -> Any:
    """``value`` with every ``$ref`` in ``renames`` (full "#/components/..." refs) replaced."""
    if not renames:
        return value
    if isinstance(value, dict):
        return {
            key: (renames.get(item, item) if key == "$ref" and isinstance(item, str) else
                  _rewrite_refs(item, renames))
            for key, item in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def _ref(kind: str, name: str) -> str:
    return f"#/components/{kind}/{name}"


def _component_renames(
    merged: dict[str, dict[str, Any]], incoming: dict[str, dict[str, Any]], prefix: str
) -> dict[str, str]:
    """Old ref -> new ref for ``incoming``'s components whose names ``merged`` already
    uses for different content. Renaming one can make another differ (it refers to the
    renamed one), hence the loop until nothing changes."""
    renames: dict[str, str] = {}
    taken = {(kind, name) for kind, items in [*merged.items(), *incoming.items()] for name in items}
    while True:
        rewritten = _rewrite_refs(incoming, renames)
        clashes = [
            (kind, name)
            for kind, items in rewritten.items()
            for name, value in items.items()
            if _ref(kind, name) not in renames
            and name in merged.get(kind, {})
            and merged[kind][name] != value
        ]
        if not clashes:
            return renames
        for kind, name in clashes:
            new, n = prefix + name, 2
            while (kind, new) in taken:
                new, n = f"{prefix}{name}{n}", n + 1
            taken.add((kind, new))
            renames[_ref(kind, name)] = _ref(kind, new)


def _operations(paths: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in paths.values():
        for method in METHODS:
            if isinstance(item.get(method), dict):
                yield item[method]


def merge(
    own: dict[str, Any], services: Sequence[tuple[Upstream, dict[str, Any]]]
) -> dict[str, Any]:
    """The public document: the gateway's own, then each service's forwarded part."""
    document = copy.deepcopy(own)
    paths: dict[str, Any] = document.setdefault("paths", {})
    components: dict[str, dict[str, Any]] = document.setdefault("components", {})
    operation_ids = {op.get("operationId") for op in _operations(paths)}
    tags = {tag.get("name"): tag for tag in document.get("tags", [])}

    for upstream, source in services:
        routed = {p: item for p, item in source.get("paths", {}).items() if upstream.routes(p)}
        incoming = {
            kind: dict(items)
            for kind, items in source.get("components", {}).items()
            if isinstance(items, dict)
        }
        renames = _component_renames(components, incoming, upstream.service.capitalize())
        routed = _rewrite_refs(copy.deepcopy(routed), renames)
        for kind, items in _rewrite_refs(incoming, renames).items():
            for name, value in items.items():
                new_name = renames.get(_ref(kind, name), _ref(kind, name)).rsplit("/", 1)[1]
                components.setdefault(kind, {})[new_name] = value
        for path, item in routed.items():
            if path in paths:  # a path the gateway serves itself is never forwarded
                logger.warning("openapi: %s also documents %s; left out", upstream.service, path)
                continue
            paths[path] = item
        for operation in _operations(routed):
            add_error_responses(operation, proxy_errors(upstream, operation))
            op_id = operation.get("operationId")
            if op_id in operation_ids:
                operation["operationId"] = op_id = upstream.service.capitalize() + str(op_id)
            operation_ids.add(op_id)
        for tag in source.get("tags", []):
            tags.setdefault(tag.get("name"), tag)

    if tags:
        document["tags"] = list(tags.values())
    document["paths"] = dict(sorted(paths.items()))
    document["components"] = {
        kind: dict(sorted(items.items())) for kind, items in sorted(components.items())
    }
    return document


def describe(present: Sequence[str], missing: Sequence[str]) -> dict[str, Any]:
    """The document's ``info``: what it covers right now."""
    text = (
        "The whole public API, served by the gateway: accounts and tokens, the live event "
        "stream, and the operations it forwards to the services "
        f"({', '.join(present) or 'none reachable'}). Every error is the `ErrorEnvelope`."
    )
    if missing:
        text += (
            f"\n\nNot reachable when this document was built, so not in it yet: "
            f"{', '.join(missing)}. Fetch it again later."
        )
    return {"title": TITLE, "version": "1.0.0", "description": text}


# -- serving --------------------------------------------------------------------------


@dataclass
class _Fetched:
    document: dict[str, Any]
    at: float


class PublicDocument:
    """The merged document, built at the first request, kept, refreshed as described."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        client: UpstreamClient,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.upstreams = list(upstreams)
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.fetch_timeout = fetch_timeout
        self._fetched: dict[str, _Fetched] = {}
        self._own: dict[str, Any] | None = None
        self._encoded: bytes | None = None
        self._merged: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    def _due(self, now: float) -> list[Upstream]:
        return [
            u
            for u in self.upstreams
            if (f := self._fetched.get(u.service)) is None or now - f.at > self.refresh_seconds
        ]

    async def document(self, app: Litestar) -> tuple[dict[str, Any], bytes]:
        """The merged document and its JSON."""
        if self._encoded is None or self._merged is None or self._due(time.monotonic()):
            async with self._lock:  # one round of fetches at a time; the others wait for it
                due = self._due(time.monotonic())
                if self._encoded is None or due:
                    await self._refresh(app, due)
        assert self._merged is not None and self._encoded is not None
        return self._merged, self._encoded

    async def _refresh(self, app: Litestar, due: list[Upstream]) -> None:
        if self._own is None:
            self._own = app.openapi_schema.to_schema()
        client = self.client.session
        results = await asyncio.gather(*(self._fetch(client, u) for u in due))
        changed = self._encoded is None
        for upstream, fetched in zip(due, results, strict=True):
            if fetched is not None:
                previous = self._fetched.get(upstream.service)
                changed = changed or previous is None or previous.document != fetched
                self._fetched[upstream.service] = _Fetched(fetched, time.monotonic())
        if not changed:
            return
        present = [u for u in self.upstreams if u.service in self._fetched]
        missing = [u.service for u in self.upstreams if u.service not in self._fetched]
        merged = merge(self._own, [(u, self._fetched[u.service].document) for u in present])
        merged["info"] = describe([u.service for u in present], missing)
        merged["servers"] = [{"url": "/", "description": "The gateway, the only public entry"}]
        self._merged, self._encoded = merged, _encoder.encode(merged)

    async def _fetch(
        self, client: aiohttp.ClientSession, upstream: Upstream
    ) -> dict[str, Any] | None:
        url = upstream.base_url.rstrip("/") + UPSTREAM_DOCUMENT
        try:
            async with client.get(
                url, timeout=aiohttp.ClientTimeout(total=self.fetch_timeout)
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise ValueError(f"status {response.status}")
            document = msgspec.json.decode(body)
            if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
                raise ValueError("not an OpenAPI document")
        except Exception as exc:  # whatever went wrong, the gateway's own part is served
            logger.warning("openapi: the %s document is unavailable (%r)", upstream.service, exc)
            return None
        return document


def schema_router(public: PublicDocument) -> Router:
    """``GET /schema/openapi.json`` (the merged document) and ``GET /schema`` (Redoc)."""
    page = RedocRenderPlugin(path="/")

    @get("/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON, name="public-openapi")
    async def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
        _, encoded = await public.document(request.app)
        return Response(encoded, media_type=OpenAPIMediaType.OPENAPI_JSON)

    @get("/", media_type=MediaType.HTML, name="public-openapi-page")
    async def openapi_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        merged, _ = await public.document(request.app)
        return Response(page.render(request, merged), media_type=MediaType.HTML)

    return Router(SCHEMA_PATH, route_handlers=[openapi_json, openapi_page], include_in_schema=False)
