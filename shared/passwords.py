"""bcrypt password hashing, off the event loop (a cost-12 hash takes ~250 ms)."""

from __future__ import annotations

import asyncio

import bcrypt

BCRYPT_ROUNDS = 12
MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything past 72 bytes; we refuse it instead.

# A valid hash of a random password, checked against when the email is unknown so that
# "no such user" costs the same time as "wrong password" (no user enumeration by timing).
_DUMMY_HASH = bcrypt.hashpw(b"timing-equaliser-not-a-password", bcrypt.gensalt(BCRYPT_ROUNDS))


def password_length_ok(password: str) -> bool:
    return MIN_PASSWORD_BYTES <= len(password.encode()) <= MAX_PASSWORD_BYTES


async def hash_password(password: str) -> str:
    hashed = await asyncio.to_thread(
        bcrypt.hashpw, password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)
    )
    return hashed.decode()


async def check_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``; costs one bcrypt check either way."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        encoded = encoded[:MAX_PASSWORD_BYTES]
        hashed = None  # never accept a truncated match, but spend the same time
    target = (hashed or "").encode() or _DUMMY_HASH
    try:
        matched = await asyncio.to_thread(bcrypt.checkpw, encoded, target)
    except ValueError:
        return False
    return matched and hashed is not None
