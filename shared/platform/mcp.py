"""The MCP plugin: serves an MCP server of the official SDK from a Litestar app.

Streamable HTTP in stateless mode with JSON responses: every POST carries a whole exchange,
so any replica answers any call and no sticky sessions are needed. The endpoint is an
ordinary route of the app, so the app's middleware (request id, access log, metrics, body
limit, bearer token) runs first; the SDK's transport then answers with JSON-RPC, its own
errors included. Its protection against DNS rebinding stays on: the ``Host`` and
``Origin`` headers must be among the allowed ones. :class:`StrictServer` is the SDK's
server with tools that refuse arguments they do not take.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from jsonschema import Draft202012Validator
from litestar import Litestar, asgi
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.types import Receive, Scope, Send
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, Icon, TextContent, ToolAnnotations
from mcp.types import Tool as MCPTool

from shared.platform.service import DEFAULT_BODY_LIMIT

LifespanT = TypeVar("LifespanT")


class StrictServer(MCPServer[LifespanT]):
    """The SDK's server, whose tools refuse arguments they do not take (as the REST API
    refuses unknown fields), so that a misspelt one ("due" for "due_at") is not dropped:
    their input schemas say ``additionalProperties: false`` and :class:`ArgumentCheck`
    holds every call to its tool's schema. Their schemas say "a string or null" as
    ``type: ["string", "null"]`` (see :func:`nullable_as_type_list`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._published: list[MCPTool] | None = None  # the tool list, converted once
        super().__init__(*args, **kwargs)
        self.middleware.append(ArgumentCheck(self))

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """A tool without a description of its own is described by its docstring."""
        description = described(fn) if description is None else description
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        self._published = None

    def remove_tool(self, name: str) -> None:
        super().remove_tool(name)
        self._published = None

    async def list_tools(self) -> list[MCPTool]:
        if self._published is None:
            tools = await super().list_tools()
            for tool in tools:
                tool.input_schema = nullable_as_type_list(
                    {**tool.input_schema, "additionalProperties": False}
                )
                if tool.output_schema is not None:
                    tool.output_schema = nullable_as_type_list(tool.output_schema)
            self._published = tools
        return list(self._published)


def described(fn: Callable[..., Any]) -> str:
    """A docstring as a tool's description: each paragraph one line, without the source's
    indentation (Python 3.11 keeps it in ``__doc__``, and the SDK would publish it as is)."""
    paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


# Keywords that apply to values of one type only: a value of another type (null) passes them.
_TYPED_KEYWORDS = {
    "type", "format", "minLength", "maxLength", "pattern", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "items", "minItems", "maxItems",
    "uniqueItems",
}  # fmt: skip


def nullable_as_type_list(schema: Any) -> Any:
    """``anyOf: [{type: T, ...}, {type: "null"}]`` (pydantic's spelling of an optional
    field) as ``{type: [T, "null"], ...}``: the same values pass, and a client checks a
    result several times faster (every MCP client validates structured results against the
    output schema; an ``anyOf`` is a branch search per field of every item)."""
    if isinstance(schema, list):
        return [nullable_as_type_list(part) for part in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: nullable_as_type_list(value) for key, value in schema.items()}
    branches = converted.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[1 - branches.index({"type": "null"})]
        if (
            isinstance(other, dict)
            and isinstance(other.get("type"), str)
            and set(other) <= _TYPED_KEYWORDS
            and not set(other) & set(converted)
        ):
            del converted["anyOf"]
            converted.update(other, type=[other["type"], "null"])
    return converted


class ArgumentCheck:
    """Server middleware: a call's arguments are checked against the tool's published input
    schema first, so a refusal names the argument and the rule in the schema's words."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self.server = server
        self._validators: dict[str, Draft202012Validator] = {}  # built once

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        params = ctx.params
        if ctx.method != "tools/call" or not isinstance(params, dict):
            return await call_next(ctx)
        if not self._validators:
            for tool in await self.server.list_tools():
                self._validators[tool.name] = Draft202012Validator(tool.input_schema)
        name, arguments = params.get("name"), params.get("arguments") or {}
        validator = self._validators.get(name) if isinstance(name, str) else None
        if validator is None or not isinstance(arguments, dict):
            return await call_next(ctx)  # the SDK answers unknown tools and bad params
        problems = [
            f"{'.'.join(map(str, error.absolute_path)) or 'arguments'}: {error.message[:200]}"
            for error in validator.iter_errors(arguments)
        ]
        if not problems:
            return await call_next(ctx)
        text = f"invalid arguments for {name}: " + "; ".join(sorted(problems))
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


class McpPlugin(InitPluginProtocol):
    def __init__(
        self,
        server: MCPServer[Any],
        *,
        path: str = "/mcp",
        allowed_hosts: list[str],
        allowed_origins: list[str],
        max_body_bytes: int = DEFAULT_BODY_LIMIT,
    ) -> None:
        self.server = server
        self.path = path
        # Builds the SDK's session manager; its Starlette app is not used: the endpoint is
        # mounted below, behind the app's own middleware.
        server.streamable_http_app(
            json_response=True,
            stateless_http=True,
            max_request_body_size=max_body_bytes,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=allowed_hosts,
                allowed_origins=allowed_origins,
            ),
        )
        self._endpoint = StreamableHTTPASGIApp(server.session_manager)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        endpoint = self._endpoint

        @asgi(self.path, is_mount=True, include_in_schema=False, copy_scope=False)
        async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            await endpoint(scope, receive, send)  # type: ignore[arg-type]

        app_config.route_handlers.append(mcp_endpoint)
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _: Litestar) -> AsyncIterator[None]:
        # The SDK's session manager runs each stateless exchange in its task group.
        async with self.server.session_manager.run():
            yield
