"""Accounts and sessions through the gateway: register, login, refresh, logout, throttling."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from tests.support.envelope import assert_gateway_error
from tests.support.stack import Stack, UserFactory


def new_email() -> str:
    return f"Person-{uuid.uuid4().hex[:10]}@Example.com"


def test_register_then_login_and_me(api: httpx.Client) -> None:
    email = new_email()
    created = api.post(
        "/api/v1/auth/register", json={"email": email, "password": "s3cret-pass", "name": "Ada"}
    )
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == email and user["name"] == "Ada"
    assert "password" not in created.text and "hash" not in created.text

    # Emails compare case-insensitively.
    login = api.post("/api/v1/auth/login", json={"email": email.upper(), "password": "s3cret-pass"})
    assert login.status_code == 200
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == user["id"]


def test_duplicate_email_in_any_case_is_409(api: httpx.Client) -> None:
    email = new_email()
    assert (
        api.post(
            "/api/v1/auth/register", json={"email": email, "password": "s3cret-pass"}
        ).status_code
        == 201
    )
    again = api.post(
        "/api/v1/auth/register", json={"email": email.lower(), "password": "other-pass"}
    )
    assert_gateway_error(again, 409, "EMAIL_TAKEN")


def test_password_length_limits(api: httpx.Client) -> None:
    too_short = api.post("/api/v1/auth/register", json={"email": new_email(), "password": "short"})
    assert_gateway_error(too_short, 400, "VALIDATION_ERROR")
    # 73 bytes (bcrypt reads only 72): refused at registration, not silently truncated.
    too_long = api.post("/api/v1/auth/register", json={"email": new_email(), "password": "é" * 37})
    assert_gateway_error(too_long, 400, "VALIDATION_ERROR")
    bad_email = api.post(
        "/api/v1/auth/register", json={"email": "no-at-sign", "password": "s3cret-pass"}
    )
    error = assert_gateway_error(bad_email, 400, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["key"] == "email"


def test_login_with_overlong_password_is_plain_401(
    api: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user(password="p" * 72)
    ok = api.post("/api/v1/auth/login", json={"email": user.email, "password": "p" * 72})
    assert ok.status_code == 200
    longer = api.post("/api/v1/auth/login", json={"email": user.email, "password": "p" * 73})
    assert_gateway_error(longer, 401, "INVALID_CREDENTIALS")


def test_unknown_email_and_wrong_password_look_the_same(
    api: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    started = time.perf_counter()
    wrong = api.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
    wrong_seconds = time.perf_counter() - started
    started = time.perf_counter()
    unknown = api.post(
        "/api/v1/auth/login", json={"email": new_email(), "password": "wrong-password"}
    )
    unknown_seconds = time.perf_counter() - started
    a = assert_gateway_error(wrong, 401, "INVALID_CREDENTIALS")
    b = assert_gateway_error(unknown, 401, "INVALID_CREDENTIALS")
    assert a["message"] == b["message"]
    # Both paths pay for one bcrypt check (~0.2 s); an unknown email is not a fast path.
    assert unknown_seconds > 0.1 and wrong_seconds > 0.1


def test_refresh_rotates_and_reuse_revokes_the_family(
    api: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    first = api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    second_refresh = first.json()["refresh_token"]
    assert second_refresh != user.refresh_token
    assert (
        api.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
        ).status_code
        == 200
    )

    # The rotated token is presented again: someone replayed it, so the family dies.
    replay = api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert_gateway_error(replay, 401, "INVALID_REFRESH_TOKEN")
    newest = api.post("/api/v1/auth/refresh", json={"refresh_token": second_refresh})
    assert_gateway_error(newest, 401, "INVALID_REFRESH_TOKEN")

    # A fresh login starts a new, working family.
    login = api.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    again = api.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert again.status_code == 200


def test_unknown_refresh_token_is_401(api: httpx.Client) -> None:
    assert_gateway_error(
        api.post("/api/v1/auth/refresh", json={"refresh_token": "nope"}),
        401,
        "INVALID_REFRESH_TOKEN",
    )


def test_logout_revokes_the_family(api: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    rotated = api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}).json()
    out = api.post(
        "/api/v1/auth/logout",
        json={"refresh_token": rotated["refresh_token"]},
        headers={"Authorization": f"Bearer {rotated['access_token']}"},
    )
    assert out.status_code == 204
    after = api.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert_gateway_error(after, 401, "INVALID_REFRESH_TOKEN")
    # Logout needs the access token.
    anonymous = api.post("/api/v1/auth/logout", json={"refresh_token": "x"})
    assert_gateway_error(anonymous, 401, "UNAUTHORIZED")


def test_logout_cannot_revoke_someone_elses_session(
    api: httpx.Client, make_user: UserFactory
) -> None:
    alice, mallory = make_user(), make_user()
    out = api.post(
        "/api/v1/auth/logout", json={"refresh_token": alice.refresh_token}, headers=mallory.headers
    )
    assert out.status_code == 204
    assert (
        api.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token}).status_code
        == 200
    )


def test_login_throttled_after_five_failures(api: httpx.Client, make_user: UserFactory) -> None:
    user, bystander = make_user(), make_user()
    for _ in range(5):
        failed = api.post(
            "/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"}
        )
        assert failed.status_code == 401
    blocked = api.post(
        "/api/v1/auth/login", json={"email": user.email.upper(), "password": user.password}
    )
    error = assert_gateway_error(blocked, 429, "RATE_LIMITED")
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60 and error["details"]["retry_after"] == retry_after
    # The throttle is per email: another account still logs in.
    ok = api.post(
        "/api/v1/auth/login", json={"email": bystander.email, "password": bystander.password}
    )
    assert ok.status_code == 200


def test_general_rate_limit_per_user_with_headers(stack: Stack, make_user: UserFactory) -> None:
    gateway = stack.start_gateway(rate_limit="3/minute")
    try:
        alice, bob = make_user(), make_user()
        with httpx.Client(base_url=gateway.url) as client:
            seen = [client.get("/api/v1/auth/me", headers=alice.headers) for _ in range(3)]
            assert [r.status_code for r in seen] == [200, 200, 200]
            assert [r.headers["x-ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
            assert seen[0].headers["x-ratelimit-limit"] == "3"
            assert int(seen[0].headers["x-ratelimit-reset"]) > time.time()
            limited = client.get("/api/v1/auth/me", headers=alice.headers)
            assert_gateway_error(limited, 429, "RATE_LIMITED")
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["x-ratelimit-remaining"] == "0"
            # Counted per user: Bob is unaffected.
            assert client.get("/api/v1/auth/me", headers=bob.headers).status_code == 200
    finally:
        gateway.stop()


def _anonymous_hits(url: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=url) as client:
        return [
            client.post(
                "/api/v1/auth/refresh", json={}, headers={"X-Forwarded-For": ip}
            ).status_code
            for ip in forwarded_for
        ]


def test_forwarded_for_is_believed_only_from_trusted_proxies(stack: Stack) -> None:
    ips = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    untrusting = stack.start_gateway(rate_limit="2/minute")
    trusting = stack.start_gateway(rate_limit="2/minute", trusted_proxies="127.0.0.1/32")
    try:
        # Without trust every request counts against the peer (127.0.0.1): the third is limited.
        assert _anonymous_hits(untrusting.url, ips) == [400, 400, 429]
        # Behind a trusted proxy each forwarded client has its own counter.
        assert _anonymous_hits(trusting.url, ips) == [400, 400, 400]
    finally:
        untrusting.stop()
        trusting.stop()


def test_rate_limit_counters_shared_through_redis(stack: Stack, make_user: UserFactory) -> None:
    first = stack.start_gateway(rate_limit="3/minute", redis_url="redis://127.0.0.1:6379/14")
    second = stack.start_gateway(rate_limit="3/minute", redis_url="redis://127.0.0.1:6379/14")
    try:
        user = make_user()
        statuses = [
            httpx.get(f"{gw.url}/api/v1/auth/me", headers=user.headers).status_code
            for gw in (first, second, first, second)
        ]
        assert statuses == [200, 200, 200, 429]
    finally:
        first.stop()
        second.stop()


async def test_concurrent_login_guesses_are_all_counted(
    stack: Stack, make_user: UserFactory
) -> None:
    user = make_user()
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:
        guesses = [
            client.post("/api/v1/auth/login", json={"email": user.email, "password": f"guess-{i}"})
            for i in range(20)
        ]
        statuses = sorted(r.status_code for r in await asyncio.gather(*guesses))
    # Counted before the password is checked: a burst gets no more than five tries.
    assert statuses.count(401) <= 5 and statuses.count(429) >= 15, statuses


async def test_replay_racing_a_rotation_still_revokes_the_family(
    stack: Stack, make_user: UserFactory
) -> None:
    user = make_user()
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:

        async def refresh(token: str) -> httpx.Response:
            return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})

        for _ in range(5):
            login = await client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": user.password}
            )
            first = login.json()["refresh_token"]
            second = (await refresh(first)).json()["refresh_token"]
            # The thief rotates `second` while the victim's client replays `first`.
            rotated, replayed = await asyncio.gather(refresh(second), refresh(first))
            assert replayed.status_code == 401
            if rotated.status_code == 200:  # the rotation won the race...
                survivor = await refresh(rotated.json()["refresh_token"])
                assert survivor.status_code == 401  # ...but its token was revoked with the family


def test_refused_tokens_count_against_the_ip(stack: Stack) -> None:
    gateway = stack.start_gateway(rate_limit="3/minute")
    try:
        with httpx.Client(base_url=gateway.url) as client:
            statuses = [
                client.get(
                    "/api/v1/todos", headers={"Authorization": f"Bearer forged-{i}"}
                ).status_code
                for i in range(4)
            ]
        assert statuses == [401, 401, 401, 429]
    finally:
        gateway.stop()
