"""bcrypt password hashing, off the event loop (a cost-12 hash takes ~250 ms).

Hashes run on one thread of their own at a lower CPU priority (nice +10, Linux threads
have their own): a storm of logins then takes at most one core, and only what CPU the rest
of the process and the box leave over, instead of stalling every other request. Logins
queue for that thread meanwhile (~4 a second per process at most); nothing else waits for
them. Logins scale with the gateway's replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt

BCRYPT_ROUNDS = 12
MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything past 72 bytes; we refuse it instead.

# A valid hash of a random password, checked against when the email is unknown so that
# "no such user" costs the same time as "wrong password" (no user enumeration by timing).
_DUMMY_HASH = bcrypt.hashpw(b"timing-equaliser-not-a-password", bcrypt.gensalt(BCRYPT_ROUNDS))


HASHING_THREADS = 1
HASHING_NICENESS = 10
_T = TypeVar("_T")


def _lower_priority() -> None:
    # Not permitted, or not Linux: the threads keep the plain priority.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing = ThreadPoolExecutor(
    HASHING_THREADS, thread_name_prefix="bcrypt", initializer=_lower_priority
)


async def _off_loop(work: Callable[..., _T], *args: bytes) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, work, *args)


def password_length_ok(password: str) -> bool:
    return MIN_PASSWORD_BYTES <= len(password.encode()) <= MAX_PASSWORD_BYTES


async def hash_password(password: str) -> str:
    hashed = await _off_loop(bcrypt.hashpw, password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS))
    return hashed.decode()


async def check_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``; costs one bcrypt check either way."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        encoded = encoded[:MAX_PASSWORD_BYTES]
        hashed = None  # never accept a truncated match, but spend the same time
    target = (hashed or "").encode() or _DUMMY_HASH
    try:
        matched = await _off_loop(bcrypt.checkpw, encoded, target)
    except ValueError:
        return False
    return matched and hashed is not None
