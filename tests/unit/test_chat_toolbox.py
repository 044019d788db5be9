"""The bounds of one turn's toolbox: how many tool calls run, and until when.

Calls to a tool that does not exist never reach the todos service, so these run without
one; the client points nowhere and would fail if a call got through.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec

from services.chat.todos_client import TodosClient
from services.chat.tool_args import UNPARSED, AddTask
from services.chat.toolbox import OUT_OF_TIME, TOO_MANY_CALLS, TurnToolbox
from shared.input_checks import INSTANT_RANGE


def _client() -> TodosClient:
    return TodosClient(None, "http://127.0.0.1:9", "Bearer x")  # type: ignore[arg-type]


async def test_calls_beyond_the_cap_are_refused_and_not_recorded() -> None:
    seen = []

    async def on_call(call: object) -> None:
        seen.append(call)

    toolbox = TurnToolbox(_client(), on_call, max_calls=3)
    results = [await toolbox.call("nothing_here", {}) for _ in range(5)]

    assert all("unknown tool" in result["error"] for result in results[:3])
    assert results[3:] == [{"error": TOO_MANY_CALLS}] * 2
    assert len(toolbox.calls) == len(seen) == 3


async def test_no_call_starts_once_the_turn_is_out_of_time() -> None:
    past = asyncio.get_running_loop().time() - 1
    toolbox = TurnToolbox(_client(), max_calls=20, start_until=past)
    assert await toolbox.call("delete_task", {"number": 1}) == {"error": OUT_OF_TIME}
    assert toolbox.calls == []


async def test_arguments_that_were_not_json_are_recorded_with_an_error() -> None:
    toolbox = TurnToolbox(_client())
    result = await toolbox.call("add_task", {UNPARSED: "{not json"})
    assert "not valid JSON" in result["error"]
    assert [(c.name, c.arguments) for c in toolbox.calls] == [("add_task", {UNPARSED: "{not json"})]


def test_a_time_without_an_offset_is_the_users_wall_clock() -> None:
    paris = ZoneInfo("Europe/Paris")
    toolbox = TurnToolbox(_client(), tz=paris)
    naive = msgspec.convert({"title": "Call", "due_at": "2026-03-06T17:00:00"}, AddTask)
    assert toolbox._in_users_zone(naive).due_at == datetime(2026, 3, 6, 17, tzinfo=paris)
    aware = msgspec.convert({"title": "Call", "due_at": "2026-03-06T17:00:00Z"}, AddTask)
    assert toolbox._in_users_zone(aware).due_at == datetime(2026, 3, 6, 17, tzinfo=UTC)


async def test_a_time_beyond_the_calendar_in_utc_is_a_tool_error() -> None:
    # Valid RFC 3339, but 9999-12-31T23:59:59-14:00 is in year 10000 in UTC; the client
    # points nowhere, so a call that got through would fail differently.
    toolbox = TurnToolbox(_client(), tz=timezone(timedelta(hours=14)))
    for due_at in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00"):
        result = await toolbox.call("add_task", {"title": "Call", "due_at": due_at})
        assert f"due_at {INSTANT_RANGE}" in result["error"], due_at
    assert len(toolbox.calls) == 3
