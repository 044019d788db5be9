"""Timing and classifying model (chat-completions) requests, for chat and the worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import openai

from shared.metrics.definitions import LLM_DURATION, LLM_ERRORS


def error_kind(exc: BaseException) -> str:
    """A small fixed set of kinds, so the label stays bounded."""
    # A request cancelled mid-way was cut by a deadline (the chat turn's) in practice.
    if isinstance(exc, openai.APITimeoutError | TimeoutError | asyncio.CancelledError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    return "invalid_response"


@asynccontextmanager
async def observe_llm_call(caller: str) -> AsyncIterator[None]:
    """Time the request in the block; count it as an error of its kind if it raises."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        LLM_DURATION.labels(caller, "error").observe(time.perf_counter() - started)
        LLM_ERRORS.labels(caller, error_kind(exc)).inc()
        raise
    LLM_DURATION.labels(caller, "ok").observe(time.perf_counter() - started)
