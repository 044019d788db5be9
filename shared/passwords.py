"""bcrypt password hashing, off the event loop (a cost-12 hash takes ~250 ms).

Hashes run on one thread of their own at the lowest CPU priority (SCHED_IDLE; Linux
threads have their own), and a process may cap the share of one core that thread takes
(:func:`set_hashing_share`; the gateway's ``PASSWORD_HASHING_SHARE``, a quarter by
default): it rests in proportion to the CPU each hash took. A storm of logins, or of
guessed passwords, then takes a bounded part of the CPU instead of stalling every other
request; a priority alone does not bound it, since the hashing thread runs whenever the
request path waits on the network or the database. Logins queue for that thread meanwhile
(about one a second per process during a storm, at cost 12 on a quarter of a core, less
on a box with no idle CPU); nothing else waits for them. Logins scale with the gateway's
replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
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


class _Pace:
    """The share of one core hashing may take (:func:`set_hashing_share`; all of it unless
    set), and when the hashing thread may start its next hash (touched by it only)."""

    share = 1.0
    resume_at = 0.0


def set_hashing_share(share: float) -> None:
    """At most ``share`` (0 < share <= 1) of one core goes to hashing in this process: after
    a hash that took t of CPU, the thread rests t * (1 / share - 1) before the next one."""
    if not 0 < share <= 1:
        raise ValueError("the hashing share is in (0, 1]")
    _Pace.share = share


def _lower_priority() -> None:
    # SCHED_IDLE: any other thread that wakes up takes the core at once (a nice value only
    # weighs the shares, and each hop of a request waited for the hash's time slice).
    # Not permitted, or not Linux: a nice value, else the plain priority.
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing = ThreadPoolExecutor(
    HASHING_THREADS, thread_name_prefix="bcrypt", initializer=_lower_priority
)


def _paced(work: Callable[..., _T], *args: bytes) -> _T:
    rest = _Pace.resume_at - time.monotonic()
    if rest > 0:
        time.sleep(rest)
    started = time.thread_time()
    try:
        return work(*args)
    finally:
        spent = time.thread_time() - started
        _Pace.resume_at = time.monotonic() + spent * (1 / _Pace.share - 1)


async def _off_loop(work: Callable[..., _T], *args: bytes) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _paced, work, *args)


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
