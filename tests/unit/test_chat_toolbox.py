"""The bounds of one turn's toolbox: how many tool calls run, and until when.

The tools themselves are the todos service's MCP server (tested end to end in tests/e2e);
here the toolbox runs over a session that answers every call with a refusal and counts
what reached it, so the bounds are seen without a server.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from services.chat.todo_tools import ToolSession
from services.chat.toolbox import OUT_OF_TIME, TOO_MANY_CALLS, UNPARSED, TurnToolbox


class Refusing(ToolSession):
    def __init__(self) -> None:
        self.reached: list[str] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.reached.append(name)
        return {"error": f"Unknown tool: {name}"}


async def test_calls_beyond_the_cap_are_refused_and_not_recorded() -> None:
    seen = []

    async def on_call(call: object) -> None:
        seen.append(call)

    session = Refusing()
    toolbox = TurnToolbox(session, on_call, max_calls=3)
    results = [await toolbox.call("nothing_here", {}) for _ in range(5)]

    assert all("Unknown tool" in result["error"] for result in results[:3])
    assert results[3:] == [{"error": TOO_MANY_CALLS}] * 2
    assert len(toolbox.calls) == len(seen) == len(session.reached) == 3


async def test_no_call_starts_once_the_turn_is_out_of_time() -> None:
    past = asyncio.get_running_loop().time() - 1
    session = Refusing()
    toolbox = TurnToolbox(session, max_calls=20, start_until=past)
    assert await toolbox.call("delete_task", {"task_id": 1}) == {"error": OUT_OF_TIME}
    assert toolbox.calls == [] and session.reached == []


async def test_arguments_that_were_not_json_are_recorded_with_an_error() -> None:
    session = Refusing()
    toolbox = TurnToolbox(session)
    result = await toolbox.call("add_task", {UNPARSED: "{not json"})
    assert "not valid JSON" in result["error"]
    assert [(c.name, c.arguments) for c in toolbox.calls] == [("add_task", {UNPARSED: "{not json"})]
    assert session.reached == []


async def test_arguments_go_to_the_tools_as_json() -> None:
    class Echo(Refusing):
        async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return {"got": arguments}

    toolbox = TurnToolbox(Echo())
    when = datetime(2030, 5, 1, 9, tzinfo=UTC)
    result = await toolbox.call("add_task", {"title": "Call", "due_at": when})
    assert result == {"got": {"title": "Call", "due_at": "2030-05-01T09:00:00Z"}}
    assert toolbox.calls[0].arguments == result["got"]
