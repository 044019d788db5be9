"""The OpenAPI documents tell the truth about errors: every one is the error envelope.

Handlers name the errors peculiar to them with Litestar's own ``raises=[...]``, listing our
:class:`~shared.errors.AppError` subclasses (Litestar reads only their ``status_code``):
``@get(..., raises=raises(NotFound))``. Litestar then documents those statuses — and a 400
for every operation with parameters or a body — in its default ``{status_code, detail,
extra}`` shape, which no response of ours ever has. :func:`document_errors`, run once on
every service's app by ``shared.platform.serve``, rewrites the generated document in
one place:

- every error response (4xx/5xx) refers to the ``ErrorEnvelope`` component schema, with a
  description and an example per error code it can carry (``shared.openapi_errors``);
- the errors every operation of a kind can give are added by rule, so no handler has to
  repeat them: 401 (and the bearer security requirement) for authenticated operations,
  403 ``INSUFFICIENT_SCOPE`` where the path needs a scope (``shared.scopes``), 413 where
  there is a body, 503 where the handler uses the database, plus the service's
  ``common`` errors (the gateway's rate limit, 429);
- a request body object that refuses unknown fields (a msgspec Struct with
  ``forbid_unknown_fields``, answered 400 otherwise) says so: ``additionalProperties: false``.

The gateway's merged document (``services.gateway.openapi_merge``) adds the proxy's own
errors to the operations it forwards, on the JSON form, with the same envelope responses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any, cast

import msgspec
import msgspec.inspect
from litestar import Litestar
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIResponse,
    Operation,
)
from litestar.routes import HTTPRoute

from shared.errors import (
    AppError,
    InsufficientScope,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from shared.openapi_errors import (
    BEARER,
    ENVELOPE,
    JSON,
    Documented,
    bearer_scheme,
    envelope_media,
    envelope_schema,
    error_responses,
)
from shared.scopes import ordered, required_scopes

# The dependencies the platform plugins provide from the database.
DATABASE_DEPENDENCIES = frozenset({"session", "readers"})
DATABASE_DOWN = ServiceUnavailable("Database unavailable, try again shortly")


def raises(*errors: type[AppError]) -> list[type[HTTPException]]:
    """``raises=`` for a route handler, from our errors.

    Litestar types ``raises`` as HTTPException subclasses but reads only ``status_code``
    (what our errors carry too); :func:`document_errors` documents them properly."""
    return cast(list[type[HTTPException]], list(errors))


class ServerSentEvent(msgspec.Struct):
    """One event of a ``text/event-stream`` response, as an EventSource reads it."""

    event: str
    data: Annotated[str, msgspec.Meta(description="One JSON document")]
    id: str = ""
    retry: int = 0


def event_stream(description: str) -> ResponseSpec:
    """A ``responses=`` entry for a Server-Sent Events body: the schema of each event."""
    return ResponseSpec(
        ServerSentEvent,
        generate_examples=False,
        media_type="text/event-stream",
        description=description,
    )


@dataclass(frozen=True)
class ErrorDocs:
    """What a service's operations can answer besides their handlers' own ``raises``."""

    # Operations that need no access token (no 401, no security requirement).
    is_public: Callable[[HTTPRouteHandler], bool] = field(default=lambda _handler: False)
    # Errors any operation of the service can give (the gateway: its rate limit).
    common: Sequence[Documented] = ()


# -- the document of a Litestar app ---------------------------------------------------


def _documented(error: type[Exception]) -> Documented | None:
    if isinstance(error, type) and issubclass(error, AppError):
        return error
    if isinstance(error, type) and issubclass(error, ValidationException):
        return ValidationFailed
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and status >= 400:
        # A Litestar HTTPException, rendered by shared.errors with its status' name as code.
        framework = AppError(HTTPStatus(status).phrase)
        framework.status_code, framework.code = status, HTTPStatus(status).name
        return framework
    return None


def _operations(
    app: Litestar, openapi: OpenAPI
) -> Iterable[tuple[HTTPRouteHandler, Operation, frozenset[str]]]:
    """Each operation with its handler and the scopes it needs (one of them)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = getattr(path_item, method.lower(), None)
            if isinstance(operation, Operation) and handler.resolve_include_in_schema():
                yield handler, operation, required_scopes(method, route.path)


def operation_errors(
    handler: HTTPRouteHandler,
    operation: Operation,
    docs: ErrorDocs,
    scopes: frozenset[str] = frozenset(),
) -> list[Documented]:
    """Every error ``operation`` (which needs one of ``scopes``) can answer, most specific
    first."""
    errors: list[Documented] = []
    for raised in handler.raises or ():
        if (documented := _documented(raised)) is not None:
            errors.append(documented)
    responses = operation.responses or {}
    if "400" in responses:  # Litestar's own: the operation has parameters or a body
        errors.append(ValidationFailed)
    if not docs.is_public(handler):
        errors.append(Unauthorized)
        if scopes:
            errors.append(InsufficientScope(ordered(scopes)))
    if operation.request_body is not None:
        errors.append(PayloadTooLarge)
    if DATABASE_DEPENDENCIES & set(handler.parsed_fn_signature.parameters):
        errors.append(DATABASE_DOWN)
    errors.extend(docs.common)
    return errors


def _closed_structs(app: Litestar) -> set[str]:
    """Names of the Structs in request bodies that refuse unknown fields, nested ones too."""
    body_types = [
        data.annotation
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler, _ in route.route_handler_map.values()
        if (data := handler.parsed_fn_signature.parameters.get("data")) is not None
    ]
    closed: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = []
    for body_type in body_types:
        try:
            stack.append(msgspec.inspect.type_info(body_type))
        except (TypeError, ValueError):  # not a type msgspec decodes (e.g. raw bytes)
            continue
    while stack:
        info = stack.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                closed.add(info.cls.__name__)
            stack.extend(field.type for field in info.fields)
            continue
        # Lists, unions, dicts, metadata...: every msgspec.inspect type is a Struct too.
        for value in (getattr(info, name) for name in info.__struct_fields__):
            if isinstance(value, msgspec.inspect.Type):
                stack.append(value)
            elif isinstance(value, tuple):
                stack.extend(v for v in value if isinstance(v, msgspec.inspect.Type))
    return closed


def document(app: Litestar, docs: ErrorDocs) -> OpenAPI:
    """Rewrite ``app``'s OpenAPI document (once, before it is first served): see above."""
    openapi = document_errors(app, docs)
    schemas = openapi.components.schemas if isinstance(openapi.components, Components) else {}
    for name in _closed_structs(app):
        if (schema := schemas.get(name)) is not None and schema.title == name:
            schema.additional_properties = False
    return openapi


def document_errors(app: Litestar, docs: ErrorDocs) -> OpenAPI:
    """Every error response of ``app``'s document the envelope; the rule-based errors."""
    openapi = app.openapi_schema
    components = openapi.components
    if isinstance(components, list):  # pragma: no cover - ServicePlugin passes one
        components = openapi.components = Components()
    components.schemas[ENVELOPE] = envelope_schema()
    secured = False
    for handler, operation, scopes in _operations(app, openapi):
        responses = dict(operation.responses or {})
        documented = error_responses(operation_errors(handler, operation, docs, scopes))
        for status, response in list(responses.items()):
            if status.isdigit() and int(status) >= 400 and int(status) not in documented:
                # Declared by hand (``responses=``): keep its words, use the envelope.
                described = response.description if isinstance(response, OpenAPIResponse) else ""
                documented[int(status)] = OpenAPIResponse(
                    description=described or HTTPStatus(int(status)).phrase,
                    content={JSON: envelope_media(None)},
                )
        for status_code, response in documented.items():
            responses[str(status_code)] = response
        operation.responses = dict(sorted(responses.items()))
        if not docs.is_public(handler):
            operation.security = [{BEARER: []}]
            secured = True
    if secured:
        components.security_schemes = {
            **(components.security_schemes or {}),
            BEARER: bearer_scheme(),
        }
    return openapi
