"""Service functions called as a request calls them: each call its own unit of work.

Service functions never commit; in the app the request's unit of work does
(``shared.platform.DatabasePlugin``). Tests that drive service functions directly wrap
the module so every call commits when it returns and rolls back when it raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class UnitsOfWork:
    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not callable(target):
            return target
        function: Callable[..., Awaitable[Any]] = target

        async def call(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            try:
                result = await function(session, *args, **kwargs)
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            return result

        return call
