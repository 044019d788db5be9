"""The model engine: an OpenAI-compatible chat-completions model that calls our tools.

Each turn sends a system prompt, the stored history window (tool calls replayed as
assistant ``tool_calls`` plus ``tool`` messages) and the new message, with one function
tool per Struct of ``tool_args``. While the model asks for tools, they run through the
toolbox and their results go back to it; the first plain text answer ends the turn. After
``max_rounds`` rounds of tool calls it stops with a fixed answer. Any failure of the model
(HTTP error, timeout after the SDK's bounded retries, a model request still running at the
turn's deadline ``Turn.deadline`` (set from CHAT_TURN_TIMEOUT_SECONDS by the turn), an empty
answer) is :class:`LlmUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import msgspec
import openai

from services.chat.engine_api import HistoryMessage, Toolbox, Turn
from services.chat.errors import LlmUnavailable
from services.chat.settings import ChatSettings
from services.chat.tool_args import TOOL_ARGUMENTS, UNPARSED
from shared.metrics import observe_llm_call

logger = logging.getLogger("chat.model")
LLM_CALLER = "chat"  # the caller label of the model-request metrics

SYSTEM_PROMPT = """You are the assistant of a todo app. You manage the user's tasks only \
through the tools you are given; never claim a change you did not make with a tool.
Tasks are called by their number ("task 3"). When the user names a task by its words \
("the meeting task"), call find_tasks first; if several match, list them and ask which one.
Dates and times go to tools as ISO 8601; a time without an offset is in the user's zone. \
It is now {now} ({zone}).
Answer briefly, in the user's language, and confirm what you did."""

STOPPED = (
    "I stopped after {rounds} rounds of tool calls without finishing. "
    "Please try again, perhaps one step at a time."
)


def tool_definitions() -> list[dict[str, Any]]:
    """One function tool per Struct; its JSON Schema is what the model is given."""
    definitions = []
    for name, struct in TOOL_ARGUMENTS.items():
        schema = msgspec.json.schema(struct)
        parameters = schema["$defs"][struct.__name__] if "$ref" in schema else schema
        parameters = {k: v for k, v in parameters.items() if k != "title"}
        description = parameters.pop("description", name.replace("_", " "))
        definitions.append(
            {
                "type": "function",
                "function": {"name": name, "description": description, "parameters": parameters},
            }
        )
    return definitions


def history_messages(history: list[HistoryMessage]) -> list[dict[str, Any]]:
    """Stored messages as chat-completion messages.

    Consecutive stored tool calls become one assistant message with ``tool_calls`` and one
    ``tool`` message per call, with ids made up here (they only pair calls with results).
    """
    messages: list[dict[str, Any]] = []
    pending: list[HistoryMessage] = []

    def flush() -> None:
        if not pending:
            return
        base = len(messages)
        calls = [
            {
                "id": f"call_{base}_{index}",
                "type": "function",
                "function": {
                    "name": item.tool_name or "unknown",
                    "arguments": json.dumps(item.tool_arguments or {}),
                },
            }
            for index, item in enumerate(pending)
        ]
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for call, item in zip(calls, pending, strict=True):
            content = json.dumps(item.tool_result or {})
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
        pending.clear()

    for item in history:
        if item.role == "tool":
            pending.append(item)
            continue
        flush()
        messages.append({"role": item.role, "content": item.content})
    flush()
    return messages


class ModelEngine:
    def __init__(self, settings: ChatSettings) -> None:
        self.client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url or None,
            timeout=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )
        self.model = settings.chat_model
        self.max_rounds = settings.chat_max_tool_rounds
        self.tools = tool_definitions()

    async def close(self) -> None:
        await self.client.close()

    async def run(self, turn: Turn, tools: Toolbox) -> str:
        zone = getattr(turn.now.tzinfo, "key", None) or str(turn.now.tzinfo)
        system = SYSTEM_PROMPT.format(now=turn.now.isoformat(timespec="minutes"), zone=zone)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            *history_messages(turn.history),
            {"role": "user", "content": turn.message},
        ]
        for _ in range(self.max_rounds):
            message = await self._complete(messages, turn.deadline)
            calls = message.tool_calls or []
            if not calls:
                if not (message.content or "").strip():
                    raise LlmUnavailable(details={"reason": "empty answer"})
                return str(message.content)
            messages.append(message.model_dump(exclude_none=True))
            for call in calls:
                result = await self._call_tool(tools, call)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )
        return STOPPED.format(rounds=self.max_rounds)

    async def _complete(self, messages: list[dict[str, Any]], deadline: float | None) -> Any:
        # Model requests are cut at the turn's deadline. Tool calls are never cut short
        # halfway (their change would be made but not recorded): the toolbox, keeping the
        # same deadline, starts none once too little time is left for one, so the turn as
        # a whole ends in time.
        try:
            async with asyncio.timeout_at(deadline), observe_llm_call(LLM_CALLER):
                completion = await self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    tools=self.tools,  # type: ignore[arg-type]
                )
                if not completion.choices:  # counted as an invalid response
                    raise LlmUnavailable(details={"reason": "no answer"})
        except openai.APIError as exc:
            logger.warning("model failed: %r", exc)
            raise LlmUnavailable(details={"reason": type(exc).__name__}) from exc
        except TimeoutError as exc:
            logger.warning("model too slow for the turn's deadline")
            raise LlmUnavailable(details={"reason": "turn deadline"}) from exc
        return completion.choices[0].message

    async def _call_tool(self, tools: Toolbox, call: Any) -> dict[str, Any]:
        function = getattr(call, "function", None)
        if function is None:
            return {"error": "only function tools exist"}
        raw = function.arguments or "{}"
        try:
            arguments = json.loads(raw)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            # Still through the toolbox, so the attempt is recorded, streamed and stored;
            # the toolbox answers with the error the model can correct.
            arguments = {UNPARSED: raw}
        return await tools.call(function.name, arguments)
