"""The toolbox of one turn: runs and records every tool call an engine makes.

It implements :class:`services.chat.engine_api.Toolbox` over a :class:`ToolSession` (the
todos service's MCP tools, as the caller): the MCP server validates the arguments and
refuses what it must; a refusal, an unknown tool or arguments that were not a JSON object
come back as ``{"error": ...}`` for the engine (and the model) to read, never as an
exception. Each call is kept (for the answer and storage) and handed to ``on_call`` as it
happens (the event stream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from mcp.types import Tool

from services.chat.schemas import ToolCall
from services.chat.todo_tools import ToolSession

logger = logging.getLogger("chat.tools")
OnCall = Callable[[ToolCall], Awaitable[None]]
# The arguments an engine passes when the model's were not a JSON object: {UNPARSED: raw}.
UNPARSED = "unparsed"


def as_json(value: Any) -> dict[str, Any]:
    """Arguments as JSON values (datetimes as ISO text), whatever an engine passed."""
    try:
        converted = msgspec.to_builtins(value)
    except (TypeError, msgspec.MsgspecError):
        return {"unreadable": repr(value)[:1000]}
    return converted if isinstance(converted, dict) else {"value": converted}


TOO_MANY_CALLS = "too many tool calls in one turn"
OUT_OF_TIME = "no time left in this turn for another tool call"


class TurnToolbox:
    """The tools of one turn, with two bounds a runaway engine cannot pass.

    At most ``max_calls`` calls run; and a call only starts while ``start_until`` (event
    loop time) has not passed, so that the last one (bounded by the tools' timeout) still
    ends within the turn's deadline. Calls refused by either bound are answered with an
    ``{"error": ...}`` and not recorded: they did nothing, and a loop of them must not fill
    the conversation.
    """

    def __init__(
        self,
        session: ToolSession,
        on_call: OnCall | None = None,
        *,
        max_calls: int = 20,
        start_until: float | None = None,
    ) -> None:
        self.session = session
        self.on_call = on_call
        self.max_calls = max_calls
        self.start_until = start_until
        self.calls: list[ToolCall] = []

    async def listed(self) -> list[Tool]:
        return await self.session.list()

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if len(self.calls) >= self.max_calls:
            logger.warning("tool %s refused: %d calls already in this turn", name, self.max_calls)
            return {"error": TOO_MANY_CALLS}
        if self.start_until is not None and asyncio.get_running_loop().time() > self.start_until:
            logger.warning("tool %s refused: the turn is out of time", name)
            return {"error": OUT_OF_TIME}
        sent = as_json(arguments)
        if set(sent) == {UNPARSED}:
            result = {
                "error": f"the arguments of {name} are not valid JSON (an object is expected)"
            }
        else:
            # Only an outage of the todos service raises from here (503/504 for the turn).
            result = await self.session.call(name, sent)
        call = ToolCall(name=name, arguments=sent, result=result)
        self.calls.append(call)
        logger.info("tool %s -> %s", name, "error" if "error" in result else "ok")
        if self.on_call is not None:
            await self.on_call(call)
        return result
