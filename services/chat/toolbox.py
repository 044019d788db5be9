"""The toolbox of one turn: validates, runs and records every tool call an engine makes.

It implements :class:`services.chat.engine_api.Toolbox`. Arguments are checked against the
Structs of ``tool_args.TOOL_ARGUMENTS``; an unknown tool or invalid arguments come back as
``{"error": ...}`` for the engine (and the model) to read, never as an exception. Tools act
through a :class:`TodosClient` carrying the caller's own token: nothing an engine passes
can name another user. Each call is kept (for the answer and storage) and handed to
``on_call`` as it happens (the event stream).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from services.chat.schemas import ToolCall
from services.chat.todos_client import TodosClient
from services.chat.tool_args import TOOL_ARGUMENTS
from services.chat.tools import TOOLS

logger = logging.getLogger("chat.tools")
OnCall = Callable[[ToolCall], Awaitable[None]]


def as_json(value: Any) -> dict[str, Any]:
    """Arguments as JSON values (datetimes as ISO text), whatever an engine passed."""
    try:
        converted = msgspec.to_builtins(value)
    except (TypeError, msgspec.MsgspecError):
        return {"unreadable": repr(value)[:1000]}
    return converted if isinstance(converted, dict) else {"value": converted}


class TurnToolbox:
    def __init__(self, client: TodosClient, on_call: OnCall | None = None) -> None:
        self.client = client
        self.on_call = on_call
        self.calls: list[ToolCall] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self._run(name, arguments)
        call = ToolCall(name=name, arguments=as_json(arguments), result=result)
        self.calls.append(call)
        logger.info("tool %s -> %s", name, "error" if "error" in result else "ok")
        if self.on_call is not None:
            await self.on_call(call)
        return result

    async def _run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        struct = TOOL_ARGUMENTS.get(name)
        if struct is None:
            return {"error": f"unknown tool {name!r}; the tools are {', '.join(TOOL_ARGUMENTS)}"}
        if not isinstance(arguments, dict):
            return {"error": "the arguments must be a JSON object"}
        try:
            parsed = msgspec.convert(arguments, struct)
        except msgspec.ValidationError as exc:
            return {"error": f"invalid arguments for {name}: {exc}"}
        # Only an outage of the todos service raises from here (503/504 for the turn).
        return await TOOLS[name](self.client, parsed)
