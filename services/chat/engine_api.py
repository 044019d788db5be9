"""What an assistant engine gets for one turn and what it gives back.

Both engines (the model engine and the offline parser) implement :class:`Engine` and act
only through a :class:`Toolbox`, so they share the tools, their validation and the way a
call is recorded. Nothing here survives the request: the history comes from Postgres.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec


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


class Toolbox(Protocol):
    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run tool ``name`` as the caller and record the call.

        Unknown tools, invalid arguments (see ``tool_args``) and refusals of the todos
        service (e.g. no task with that number) come back as ``{"error": "<message>"}``;
        only an outage of the todos service raises.
        """
        ...


class Engine(Protocol):
    async def run(self, turn: Turn, tools: Toolbox) -> str:
        """Answer the turn, calling tools as needed; returns the reply text."""
        ...
