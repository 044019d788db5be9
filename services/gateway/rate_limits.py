"""Rate limits on the `limits` library: a general per-user/per-IP API limit and the
login throttle (failed attempts per email).

Counters live in Redis when REDIS_URL is set, so every gateway replica shares them, and in
process memory otherwise. A counter store that does not answer is a 503, never a bypass.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from services.gateway.settings import GatewaySettings
from shared.errors import RateLimited, ServiceUnavailable

logger = logging.getLogger("gateway.rate_limits")


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset_at: int  # unix seconds

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_at).encode()),
        ]


def storage_uri(redis_url: str) -> str:
    if not redis_url:
        return "async+memory://"
    return "async+" + redis_url if not redis_url.startswith("async+") else redis_url


class RateLimits:
    """The process's counters (one storage client, shared by every request)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.storage: Storage = storage_from_string(  # type: ignore[assignment]
            storage_uri(settings.redis_url)
        )
        self._api = SlidingWindowCounterRateLimiter(self.storage)
        self._api_limits: list[RateLimitItem] = parse_many(settings.rate_limit)
        self._login = MovingWindowRateLimiter(self.storage)
        self._login_limit = RateLimitItemPerSecond(
            settings.login_max_failures, settings.login_failure_window
        )

    def __deepcopy__(self, memo: dict[int, object]) -> RateLimits:
        # Litestar deep-copies a router's middleware options when it registers the
        # router; the counters' client is the process's one, never copied.
        return self

    async def consume_api(self, key: str) -> Quota:
        """Count one API request for ``key``; raise RateLimited when over any limit."""
        tightest: Quota | None = None
        async with _store_errors_as_503():
            for item in self._api_limits:
                allowed = await self._api.hit(item, "api", key)
                stats = await self._api.get_window_stats(item, "api", key)
                quota = Quota(item.amount, stats.remaining, math.ceil(stats.reset_time))
                if not allowed:
                    limited = RateLimited(retry_after=math.ceil(stats.reset_time - time.time()))
                    limited.headers.update({k.decode(): v.decode() for k, v in quota.headers()})
                    raise limited
                if tightest is None or quota.remaining < tightest.remaining:
                    tightest = quota
        assert tightest is not None
        return tightest

    async def count_login_attempt(self, email_key: str) -> None:
        """Count a login attempt for ``email_key`` before the password is checked, so that
        concurrent guesses cannot all pass a check made before any of them is counted.
        A successful login clears the count (:meth:`clear_login_attempts`)."""
        async with _store_errors_as_503():
            if await self._login.hit(self._login_limit, "login", email_key):
                return
            stats = await self._login.get_window_stats(self._login_limit, "login", email_key)
        raise RateLimited(
            retry_after=math.ceil(stats.reset_time - time.time()),
            message="Too many failed login attempts; try again later",
        )

    async def clear_login_attempts(self, email_key: str) -> None:
        async with _store_errors_as_503():
            await self._login.clear(self._login_limit, "login", email_key)


@asynccontextmanager
async def _store_errors_as_503() -> AsyncIterator[None]:
    """A counter store that does not answer is a 503, never a silent bypass."""
    try:
        yield
    except RateLimited:
        raise
    except Exception as exc:
        logger.error("rate-limit store unavailable", exc_info=exc)
        raise ServiceUnavailable("Rate-limit store unavailable") from exc
