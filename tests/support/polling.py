"""Waiting for a condition in async tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def eventually(
    probe: Callable[[], Any], check: Callable[[Any], bool] = bool, timeout: float = 8.0
) -> None:
    """Poll ``probe()`` (awaited if need be) until ``check`` accepts its value; errors count
    as "not yet" (the broker may be reconnecting)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if check(await value if inspect.isawaitable(value) else value):
                return
        except Exception as exc:
            last = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s (last error: {last!r})")
        await asyncio.sleep(0.05)
