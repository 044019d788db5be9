"""The gateway's side of a request made with a personal access token (docs/design.md §2).

The guard hands a ``tdp_...`` bearer token here; what comes back is the access token (a
JWT signed with the platform's key, carrying the user, ``scope`` and ``pat``) that stands
for it upstream, and its claims. The services never see a personal token.

What a request costs, and the bounds that come with it:

- the token's row (found by the token's hash) is kept :attr:`cache_seconds` (setting
  ``PERSONAL_TOKEN_CACHE_SECONDS``, 5 s) per gateway process, unknown tokens included. So
  a revocation takes effect at once on the replica that made it and within that bound on
  every other; expiry is checked on every request against the kept ``expires_at``;
- the JWT minted for a token lives :data:`MINTED_TTL` seconds (never past the token's
  expiry) and is reused for the first half of its life, so most requests pay no signature
  (and the services' verifiers, which remember tokens by their text, hit their caches);
- ``last_used_at`` is written after the answer has gone on (a task of its own), at most
  once per :data:`LAST_USED_INTERVAL` per token and process, and the statement itself
  skips the write when another replica made one within that interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from litestar import Litestar

from services.gateway import personal_token_repository as repository
from services.gateway.personal_tokens import token_hash, well_formed
from shared.errors import Unauthorized
from shared.platform import DatabasePlugin
from shared.tokens import AccessClaims, TokenIssuer, TokenVerifier

logger = logging.getLogger("gateway.personal_tokens")

MINTED_TTL = 300  # seconds
LAST_USED_INTERVAL = 60.0  # seconds
CACHE_SIZE = 10_000  # entries per cache; a full cache is emptied (refilled as used)
SHUTDOWN_WAIT = 2.0  # seconds for the last `last_used_at` writes at shutdown


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: str
    user_id: str
    scopes: frozenset[str]
    expires_at: float | None  # unix seconds
    revoked: bool


@dataclass(frozen=True, slots=True)
class Exchanged:
    """What a personal token stands for upstream."""

    authorization: bytes  # the ``Authorization`` header value: b"Bearer <jwt>"
    claims: AccessClaims
    renew_at: float  # unix seconds; a request after this mints a fresh JWT


class PersonalTokenExchange:
    def __init__(
        self,
        database: DatabasePlugin,
        issuer: TokenIssuer,
        verifier: TokenVerifier,
        *,
        cache_seconds: float,
    ) -> None:
        self.database = database
        self.issuer = issuer
        self.verifier = verifier
        self.cache_seconds = cache_seconds
        self._rows: dict[str, tuple[StoredToken | None, float]] = {}  # hash -> (row, when)
        self._minted: dict[str, Exchanged] = {}  # personal token id -> its JWT
        self._marked: dict[str, float] = {}  # personal token id -> when last_used_at was set
        self._writes: set[asyncio.Task[None]] = set()

    def __deepcopy__(self, memo: dict[int, object]) -> PersonalTokenExchange:
        return self  # one per process (Litestar deep-copies middleware options)

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._writes:  # the last uses, before the database plugin closes the pool
                await asyncio.wait(set(self._writes), timeout=SHUTDOWN_WAIT)

    def is_known(self, token: str) -> bool:
        """Whether the token's row is kept (using it costs no query)."""
        kept = self._rows.get(token_hash(token))
        return kept is not None and time.monotonic() - kept[1] < self.cache_seconds

    def forget(self, digest: str) -> None:
        """Drop a token's kept row (it was just revoked by this process)."""
        self._rows.pop(digest, None)

    async def exchange(self, token: str) -> Exchanged:
        """The access token standing for ``token``; 401 when it is not a live token."""
        if not well_formed(token):
            raise Unauthorized("Invalid personal access token")
        stored = await self._stored(token_hash(token))
        now = time.time()
        if stored is None or stored.revoked:
            raise Unauthorized("Unknown or revoked personal access token")
        if stored.expires_at is not None and stored.expires_at <= now:
            raise Unauthorized("Personal access token expired")
        self._mark_used(stored.id)
        minted = self._minted.get(stored.id)
        if minted is None or now >= minted.renew_at:
            minted = self._mint(stored, now)
        return minted

    async def _stored(self, digest: str) -> StoredToken | None:
        kept = self._rows.get(digest)
        if kept is not None and time.monotonic() - kept[1] < self.cache_seconds:
            return kept[0]
        async with self.database.readers.connection() as connection:
            row = await repository.find_by_hash(connection, digest)
        stored = None
        if row is not None:
            expires_at = row["expires_at"]
            stored = StoredToken(
                id=str(row["id"]),
                user_id=str(row["user_id"]),
                scopes=frozenset(row["scopes"]),
                expires_at=None if expires_at is None else expires_at.timestamp(),
                revoked=row["revoked_at"] is not None,
            )
        _bounded_put(self._rows, digest, (stored, time.monotonic()))
        return stored

    def _mint(self, stored: StoredToken, now: float) -> Exchanged:
        ttl = MINTED_TTL
        if stored.expires_at is not None:
            ttl = max(1, min(ttl, int(stored.expires_at - now)))
        jwt = self.issuer.issue(
            stored.user_id,
            scopes=stored.scopes,
            personal_token_id=stored.id,
            ttl_seconds=ttl,
        )
        # Read back as every service will read it: the claims are exactly the token's.
        claims = self.verifier.verify(jwt)
        minted = Exchanged(b"Bearer " + jwt.encode(), claims, now + ttl / 2)
        _bounded_put(self._minted, stored.id, minted)
        return minted

    def _mark_used(self, token_id: str) -> None:
        now = time.monotonic()
        last = self._marked.get(token_id)
        if last is not None and now - last < LAST_USED_INTERVAL:
            return
        _bounded_put(self._marked, token_id, now)
        write = asyncio.create_task(self._write_last_used(token_id))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def _write_last_used(self, token_id: str) -> None:
        try:
            async with self.database.readers.connection() as connection:
                await repository.mark_used(connection, uuid.UUID(token_id), LAST_USED_INTERVAL)
        except Exception as exc:  # a lost write of last_used_at must not fail anything
            logger.warning("last_used_at of personal token %s not written: %r", token_id, exc)


K = TypeVar("K")
V = TypeVar("V")


def _bounded_put(cache: dict[K, V], key: K, value: V) -> None:
    if len(cache) >= CACHE_SIZE and key not in cache:
        cache.clear()
    cache[key] = value
