"""The payloads of the fake OpenAI server (``tests/support/openai_server``), shaped like
OpenAI's: errors, ``chat.completion`` objects and ``chat.completion.chunk`` stream events."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.openai_server import Reply

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}
_ids = itertools.count(1)
ARGUMENTS_PIECE = 8  # characters of a tool call's arguments per stream chunk


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0  # a rough count: the shape matters, not the value


def _message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.tool_calls
        ]
    return message


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = _tokens(json.dumps(body.get("messages", [])))
    completion = _tokens(reply.content or "") + sum(
        _tokens(call.name + call.arguments) for call in reply.tool_calls
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": _message(reply), "finish_reason": reply.finish_reason}],
        "usage": _usage(body, reply),
    }


def chunks(body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    """The reply as stream chunks: role, the content word by word (so that streaming shows),
    each tool call in pieces, then the finish reason (and the usage, when asked for)."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
    }
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas.extend({"content": word} for word in re.findall(r"\s*\S+\s*|\s+", reply.content or ""))
    # A call as OpenAI streams it: its id and name first, then its arguments bit by bit.
    for index, call in enumerate(_message(reply).get("tool_calls", [])):
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        first = {**call, "function": {"name": name, "arguments": ""}}
        deltas.append({"tool_calls": [{"index": index, **first}]})
        for start in range(0, len(arguments), ARGUMENTS_PIECE):
            piece = {"arguments": arguments[start : start + ARGUMENTS_PIECE]}
            deltas.append({"tool_calls": [{"index": index, "function": piece}]})
    stream = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        for delta in deltas
    ]
    stream.append(
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}
    )
    if (body.get("stream_options") or {}).get("include_usage"):
        stream.append({**base, "choices": [], "usage": _usage(body, reply)})
    return stream
