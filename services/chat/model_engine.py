"""The model engine: an OpenAI-compatible chat-completions model that calls our tools.

Each turn sends a system prompt, the stored history window (tool calls replayed as
assistant ``tool_calls`` plus ``tool`` messages) and the new message, with one function
tool per tool the todos service's MCP server lists (its description and input schema).
While the model asks for tools, they run through the toolbox (over MCP) and their results
go back to it; the first plain text answer ends the turn. After
``max_rounds`` rounds of tool calls it stops with a fixed answer. Any failure of the model
(HTTP error, timeout after the SDK's bounded retries, a model request still running at the
turn's deadline ``Turn.deadline`` (set from CHAT_TURN_TIMEOUT_SECONDS by the turn), a
stream that ends before the model finished, an empty answer) is :class:`LlmUnavailable`.

Every model request is streamed, whether or not the client asked for an event stream: the
text goes to ``Turn.on_delta`` piece by piece as it arrives (the text of rounds that end
with tool calls too, such as "Let me check"), the tool calls are put together from their
chunks and run once their round's stream has ended. The reply is the final round's text.
One way of asking the model keeps the JSON answer and the event stream alike in their
bounds, failures and metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from mcp.types import Tool
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessageParam,
    ChatCompletionToolUnionParam,
)

from services.chat.engine_api import HistoryMessage, Toolbox, Turn
from services.chat.errors import LlmUnavailable
from services.chat.settings import ChatSettings
from services.chat.toolbox import UNPARSED
from shared.metrics import observe_llm_call

logger = logging.getLogger("chat.model")
LLM_CALLER = "chat"  # the caller label of the model-request metrics

SYSTEM_PROMPT = """You are the assistant of a todo app. You manage the user's tasks only \
through the tools you are given; never claim a change you did not make with a tool.
Tasks are called by their number ("task 3" is task_id 3). When the user names a task by its words \
("the meeting task"), call find_tasks first; if several match, list them and ask which one.
Dates and times go to tools as ISO 8601; a time without an offset is in the user's zone. \
It is now {now} ({zone}).
Answer briefly, in the user's language, and confirm what you did."""

STOPPED = (
    "I stopped after {rounds} rounds of tool calls without finishing. "
    "Please try again, perhaps one step at a time."
)


def tool_definitions(tools: list[Tool]) -> list[dict[str, Any]]:
    """The MCP tools as the chat-completions API's function tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description or tool.name.replace("_", " "),
                "parameters": tool.input_schema,
            },
        }
        for tool in tools
    ]


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


@dataclass
class StreamedCall:
    """One tool call the model asked for, put together from its stream chunks."""

    id: str = ""
    name: str = ""
    arguments: str = ""  # JSON text as the model wrote it (possibly invalid)


@dataclass
class StreamedAnswer:
    """One model answer put together from its stream chunks (one choice is asked for)."""

    text: str = ""
    calls: dict[int, StreamedCall] = field(default_factory=dict)  # by the chunks' index
    finished: bool = False  # a finish reason came: the model ended its answer

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take one chunk in; the new text it brings ("" for none)."""
        new = ""
        for choice in chunk.choices:
            delta = choice.delta
            new += delta.content or ""
            # A call's first chunk has its id and name, later ones more of its arguments;
            # calls are told apart by their index, and may interleave. Text parts are
            # joined (the name too, as the SDK's own stream helper does).
            for part in delta.tool_calls or []:
                call = self.calls.setdefault(part.index, StreamedCall())
                call.id = call.id or part.id or ""
                if part.function is not None:
                    call.name += part.function.name or ""
                    call.arguments += part.function.arguments or ""
            if choice.finish_reason is not None:
                self.finished = True
        self.text += new
        return new

    def tool_calls(self) -> list[StreamedCall]:
        """The calls in the model's order, each with an id (some servers send none)."""
        ordered = [self.calls[index] for index in sorted(self.calls)]
        for position, call in enumerate(ordered):
            call.id = call.id or f"call_{position}"
        return ordered

    def message(self) -> dict[str, Any]:
        """The answer as the assistant message that goes back to the model next round."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls()
            ]
        return message


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
        definitions = tool_definitions(await tools.listed())
        for _ in range(self.max_rounds):
            answer = await self._complete(messages, definitions, turn)
            if not answer.calls:
                if not answer.text.strip():
                    raise LlmUnavailable(details={"reason": "empty answer"})
                return answer.text
            messages.append(answer.message())
            for call in answer.tool_calls():
                result = await self._call_tool(tools, call)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )
        stopped = STOPPED.format(rounds=self.max_rounds)
        if turn.on_delta is not None:  # the model did not write it: stream it all at once
            await turn.on_delta(stopped)
        return stopped

    async def _complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], turn: Turn
    ) -> StreamedAnswer:
        # Model requests, their streams included, are cut at the turn's deadline. Tool calls
        # are never cut short halfway (their change would be made but not recorded): the
        # toolbox, keeping the same deadline, starts none once too little time is left for
        # one, so the turn as a whole ends in time.
        answer = StreamedAnswer()
        try:
            async with asyncio.timeout_at(turn.deadline), observe_llm_call(LLM_CALLER):
                stream = await self.client.chat.completions.create(
                    model=self.model,
                    messages=cast(list[ChatCompletionMessageParam], messages),
                    tools=cast(list[ChatCompletionToolUnionParam], tools),
                    stream=True,
                )
                async with stream:  # a cut request closes its connection
                    async for chunk in stream:
                        text = answer.add(chunk)
                        if text and turn.on_delta is not None:
                            await turn.on_delta(text)
                if not answer.finished:  # counted as an invalid response
                    raise LlmUnavailable(details={"reason": "unfinished answer"})
        except openai.APIError as exc:
            # A connection cut mid-stream is one too (the SDK's APIConnectionError).
            logger.warning("model failed: %r", exc)
            raise LlmUnavailable(details={"reason": type(exc).__name__}) from exc
        except TimeoutError as exc:
            logger.warning("model too slow for the turn's deadline")
            raise LlmUnavailable(details={"reason": "turn deadline"}) from exc
        return answer

    async def _call_tool(self, tools: Toolbox, call: StreamedCall) -> dict[str, Any]:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            # Still through the toolbox, so the attempt is recorded, streamed and stored;
            # the toolbox answers with the error the model can correct.
            arguments = {UNPARSED: call.arguments}
        return await tools.call(call.name, arguments)
