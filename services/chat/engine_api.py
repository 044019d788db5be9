"""What an assistant engine gets for one turn and what it gives back.

Both engines (the model engine and the offline parser) implement :class:`Engine` and act
only through a :class:`Toolbox`, so they share the tools, their validation and the way a
call is recorded. An engine that produces its reply bit by bit (the model engine) hands
each new piece of text to ``Turn.on_delta`` as it comes (the event stream shows it).
Nothing here survives the request: the history comes from Postgres.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec
from mcp.types import Tool

OnDelta = Callable[[str], Awaitable[None]]


class HistoryMessage(msgspec.Struct, kw_only=True):
    """One stored message of the conversation, oldest first.

    ``role == "tool"`` is one tool call: its name, arguments and result (the result as the
    tool returned it, including ``{"error": ...}`` results).
    """

    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_name: str | None = None
    tool_arguments: dict[str, Any] | None = None
    tool_result: dict[str, Any] | None = None


class Turn(msgspec.Struct, kw_only=True):
    message: str  # the user's new message
    history: list[HistoryMessage]  # bounded window of earlier messages, oldest first
    now: datetime  # aware, in the user's time zone (X-Timezone header, default UTC)
    # The turn's deadline (event loop time), set once when the turn runs: model requests
    # must end by it. None: no deadline (an engine exercised on its own).
    deadline: float | None = None
    # Given each new piece of the reply's text as the engine produces it; None: nobody
    # listens (a JSON answer).
    on_delta: OnDelta | None = None


class Toolbox(Protocol):
    async def listed(self) -> list[Tool]:
        """The tools as the todos service's MCP server lists them (name, description and
        the JSON Schema of the arguments)."""
        ...

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run tool ``name`` as the caller and record the call; its structured result.

        Unknown tools, invalid arguments and refusals of the todos service (e.g. no task
        with that number) come back as ``{"error": "<message>"}``; only an outage of the
        todos service raises.
        """
        ...


class Engine(Protocol):
    async def run(self, turn: Turn, tools: Toolbox) -> str:
        """Answer the turn, calling tools as needed; returns the reply text.

        Text may be streamed to ``turn.on_delta`` on the way; the returned text is the
        reply, whatever was streamed before it.
        """
        ...
