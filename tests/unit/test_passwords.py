from __future__ import annotations

from shared.passwords import check_password, hash_password, password_length_ok


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
