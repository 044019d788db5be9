from __future__ import annotations

import time

import pytest

from shared.passwords import (
    check_password,
    hash_password,
    password_length_ok,
    set_hashing_share,
)


def test_password_length_is_counted_in_bytes() -> None:
    assert password_length_ok("a" * 8) and password_length_ok("a" * 72)
    assert not password_length_ok("a" * 7) and not password_length_ok("a" * 73)
    assert not password_length_ok("é" * 37)  # 74 bytes, 37 characters


async def test_hash_and_check() -> None:
    hashed = await hash_password("correct horse")
    assert hashed.startswith("$2b$12$")
    assert await check_password("correct horse", hashed)
    assert not await check_password("wrong horse", hashed)
    assert not await check_password("correct horse", None)
    # Past 72 bytes bcrypt would compare only the prefix; we never accept that.
    long_hash = await hash_password("x" * 72)
    assert not await check_password("x" * 72 + "tail", long_hash)


async def test_hashing_takes_at_most_its_share_of_a_core() -> None:
    set_hashing_share(0.25)
    try:
        before = time.process_time()
        await hash_password("first password")
        first = time.process_time() - before  # the hash's CPU, and the loop's little
        done = time.monotonic()
        assert await check_password("first password", await hash_password("first password"))
        waited = time.monotonic() - done
    finally:
        set_hashing_share(1.0)
    # Two hashes after the first, each after a rest three times its CPU: ~8x the first.
    assert waited >= 5 * first, f"{waited:.2f}s after a hash of {first:.2f}s of CPU"


async def test_the_share_is_between_zero_and_one_core() -> None:
    for share in (0.0, -1.0, 1.5):
        with pytest.raises(ValueError, match="share"):
            set_hashing_share(share)
