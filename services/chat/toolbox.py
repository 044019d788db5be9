"""The toolbox of one turn: validates, runs and records every tool call an engine makes.

It implements :class:`services.chat.engine_api.Toolbox`. Arguments are checked against the
Structs of ``tool_args.TOOL_ARGUMENTS``; an unknown tool or invalid arguments come back as
``{"error": ...}`` for the engine (and the model) to read, never as an exception. Tools act
through a :class:`TodosClient` carrying the caller's own token: nothing an engine passes
can name another user. Each call is kept (for the answer and storage) and handed to
``on_call`` as it happens (the event stream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import msgspec

from services.chat.schemas import ToolCall
from services.chat.todos_client import TodosClient
from services.chat.tool_args import TOOL_ARGUMENTS, UNPARSED
from services.chat.tools import TOOLS
from shared.input_checks import INSTANT_RANGE, converts_to_utc

logger = logging.getLogger("chat.tools")
OnCall = Callable[[ToolCall], Awaitable[None]]


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
    loop time) has not passed, so that the last one (bounded by the todos client's timeout)
    still ends within the turn's deadline. Calls refused by either bound are answered with
    an ``{"error": ...}`` and not recorded: they did nothing, and a loop of them must not
    fill the conversation.
    """

    def __init__(
        self,
        client: TodosClient,
        on_call: OnCall | None = None,
        *,
        max_calls: int = 20,
        start_until: float | None = None,
        tz: tzinfo = UTC,
    ) -> None:
        self.client = client
        self.on_call = on_call
        self.max_calls = max_calls
        self.start_until = start_until
        self.tz = tz  # the user's zone (X-Timezone)
        self.calls: list[ToolCall] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if len(self.calls) >= self.max_calls:
            logger.warning("tool %s refused: %d calls already in this turn", name, self.max_calls)
            return {"error": TOO_MANY_CALLS}
        if self.start_until is not None and asyncio.get_running_loop().time() > self.start_until:
            logger.warning("tool %s refused: the turn is out of time", name)
            return {"error": OUT_OF_TIME}
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
        if not isinstance(arguments, dict) or set(arguments) == {UNPARSED}:
            return {"error": f"the arguments of {name} are not valid JSON (an object is expected)"}
        try:
            parsed = msgspec.convert(arguments, struct)
        except msgspec.ValidationError as exc:
            return {"error": f"invalid arguments for {name}: {exc}"}
        parsed = self._in_users_zone(parsed)
        for field in parsed.__struct_fields__:
            value = getattr(parsed, field)
            if isinstance(value, datetime) and not converts_to_utc(value):
                problem = f"{field} {INSTANT_RANGE}"
                return {"error": f"invalid arguments for {name}: {problem}"}
        # Only an outage of the todos service raises from here (503/504 for the turn).
        return await TOOLS[name](self.client, parsed)

    def _in_users_zone(self, parsed: Any) -> Any:
        """Times given without an offset ("2026-03-06T17:00") are the user's wall clock."""
        naive = {
            field: value.replace(tzinfo=self.tz)
            for field in parsed.__struct_fields__
            if isinstance(value := getattr(parsed, field), datetime) and value.tzinfo is None
        }
        return msgspec.structs.replace(parsed, **naive) if naive else parsed
