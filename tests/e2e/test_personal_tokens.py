"""Personal access tokens through the gateway: made, listed, used in place of an access
token within their scopes, revoked (within the stated bound on every replica), expired,
and the inputs that are refused (docs/design.md §2)."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.gateway.personal_tokens import DISPLAY_CHARS, token_hash
from tests.support.envelope import assert_gateway_error
from tests.support.hostile import UNKNOWN_ID, access_claims, bearer, sign
from tests.support.processes import ServiceProcess
from tests.support.stack import JwtKeys, Stack, User, UserFactory

TOKENS = "/api/v1/auth/tokens"
ALL = ["todos:read", "todos:write", "chat", "contexts"]
REVOCATION_BOUND = 5.0  # PERSONAL_TOKEN_CACHE_SECONDS, the gateway's default


def create(api: httpx.Client, user: User, **body: Any) -> dict[str, Any]:
    created = api.post(TOKENS, json={"name": "script", **body}, headers=user.headers)
    assert created.status_code == 201, created.text
    token: dict[str, Any] = created.json()
    return token


def poll_until(check: Any, bound: float) -> float:
    """Seconds until ``check()`` holds; fails once ``bound`` (and a margin) has passed."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < bound + 2.0, f"not within {bound}s"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def replica(stack: Stack) -> Iterator[ServiceProcess]:
    """A second gateway on the same database (another replica)."""
    gateway = stack.start_gateway()
    yield gateway
    gateway.stop()


def test_a_token_is_shown_once_and_listed_without_its_secret(
    api: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    made = create(api, user, name="CI deploys", expires_in_days=30)
    token = made["token"]
    assert token.startswith("tdp_") and len(token) == 4 + 43
    assert made["prefix"] == token[:12] and made["scopes"] == ALL
    assert made["name"] == "CI deploys" and made["expires_at"] > made["created_at"]

    listed = api.get(TOKENS, headers=user.headers)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert token not in listed.text and "hash" not in listed.text
    assert {k: item[k] for k in ("id", "name", "prefix", "scopes")} == {
        k: made[k] for k in ("id", "name", "prefix", "scopes")
    }
    assert item["last_used_at"] is None
    never = create(api, user, name="forever", scopes=["chat", "todos:read", "chat"])
    assert never["expires_at"] is None and never["scopes"] == ["todos:read", "chat"]


def test_a_token_works_where_an_access_token_does(
    api: httpx.Client, make_user: UserFactory
) -> None:
    user = make_user()
    headers = bearer(create(api, user)["token"])
    added = api.post("/api/v1/todos", json={"title": "From a script"}, headers=headers)
    assert added.status_code == 201, added.text
    listed = api.get("/api/v1/todos", headers=headers).json()["items"]
    assert [t["title"] for t in listed] == ["From a script"]
    assert api.get("/api/v1/auth/me", headers=headers).json()["id"] == user.id
    with api.stream("GET", "/api/v1/events", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
    # Its use is recorded (after the answer, at most once a minute).
    used = lambda: api.get(TOKENS, headers=user.headers).json()["items"][0]["last_used_at"]  # noqa: E731
    poll_until(used, 3.0)


def test_a_read_only_token_cannot_write(api: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    reader = bearer(create(api, user, scopes=["todos:read"])["token"])
    assert api.get("/api/v1/todos", headers=reader).status_code == 200
    refused = api.post("/api/v1/todos", json={"title": "Sneaky"}, headers=reader)
    error = assert_gateway_error(refused, 403, "INSUFFICIENT_SCOPE")
    assert "todos:write" in error["message"]
    assert error["details"] == {"required_scopes": ["todos:write"]}
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert api.get("/api/v1/todos", headers=user.headers).json()["items"] == []


def test_a_chat_token_cannot_reach_the_todos(api: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    chatter = bearer(create(api, user, scopes=["chat"])["token"])
    for method in ("GET", "POST", "DELETE"):
        path = "/api/v1/todos" if method != "DELETE" else f"/api/v1/todos/{uuid.uuid4()}"
        refused = api.request(method, path, headers=chatter, json={"title": "x"})
        assert_gateway_error(refused, 403, "INSUFFICIENT_SCOPE")


def test_the_services_check_the_scope_themselves(
    stack: Stack, jwt_keys: JwtKeys, make_user: UserFactory
) -> None:
    user = make_user()
    claims = {**access_claims(user.id), "scope": "todos:read", "pat": str(uuid.uuid4())}
    headers = bearer(sign(jwt_keys.private_pem, claims))
    todos = f"{stack.todos.url}/api/v1/todos"
    assert httpx.get(todos, headers=headers).status_code == 200
    refused = httpx.post(todos, json={"title": "x"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    # A personal token is the gateway's to exchange: a service takes JWTs only.
    token = create(httpx.Client(base_url=stack.gateway.url), user)["token"]
    assert httpx.get(todos, headers=bearer(token)).status_code == 401


def test_tokens_are_managed_with_a_login_token_only(
    api: httpx.Client, jwt_keys: JwtKeys, make_user: UserFactory
) -> None:
    user = make_user()
    made = create(api, user)
    minted_like = {**access_claims(user.id), "pat": made["id"]}
    for headers in (bearer(made["token"]), bearer(sign(jwt_keys.private_pem, minted_like))):
        assert_gateway_error(
            api.post(TOKENS, json={"name": "successor"}, headers=headers),
            403,
            "LOGIN_TOKEN_REQUIRED",
        )
        assert_gateway_error(api.get(TOKENS, headers=headers), 403, "LOGIN_TOKEN_REQUIRED")
        assert_gateway_error(
            api.delete(f"{TOKENS}/{made['id']}", headers=headers), 403, "LOGIN_TOKEN_REQUIRED"
        )
    assert len(api.get(TOKENS, headers=user.headers).json()["items"]) == 1


def test_revocation_takes_effect_within_the_bound_on_every_replica(
    api: httpx.Client, replica: ServiceProcess, make_user: UserFactory
) -> None:
    user = make_user()
    made = create(api, user)
    headers = bearer(made["token"])
    other = httpx.Client(base_url=replica.url, timeout=10)
    assert other.get("/api/v1/todos", headers=headers).status_code == 200  # now kept there
    assert api.get("/api/v1/todos", headers=headers).status_code == 200

    assert api.delete(f"{TOKENS}/{made['id']}", headers=user.headers).status_code == 204
    # At once on the gateway that revoked it, within the bound on the other one.
    refused = api.get("/api/v1/todos", headers=headers)
    assert_gateway_error(refused, 401, "UNAUTHORIZED")
    took = poll_until(
        lambda: other.get("/api/v1/todos", headers=headers).status_code == 401, REVOCATION_BOUND
    )
    assert took <= REVOCATION_BOUND + 1.0
    assert api.get(TOKENS, headers=user.headers).json()["items"] == []
    assert_gateway_error(
        api.delete(f"{TOKENS}/{made['id']}", headers=user.headers), 404, "NOT_FOUND"
    )


@pytest.mark.parametrize("token_id", ["theirs", UNKNOWN_ID, "not-a-uuid", "1" * 300])
def test_someone_elses_or_an_unknown_token_is_404(
    api: httpx.Client, make_user: UserFactory, token_id: str
) -> None:
    owner, other = make_user(), make_user()
    made = create(api, owner)
    target = made["id"] if token_id == "theirs" else token_id
    refused = api.delete(f"{TOKENS}/{target}", headers=other.headers)
    assert_gateway_error(refused, 404, "NOT_FOUND")
    assert api.get("/api/v1/auth/me", headers=bearer(made["token"])).status_code == 200


def test_an_expired_or_unknown_token_is_401(
    api: httpx.Client, database_url: str, make_user: UserFactory
) -> None:
    user = make_user()
    made = create(api, user, expires_in_days=1)
    headers = bearer(made["token"])
    assert api.get("/api/v1/todos", headers=headers).status_code == 200
    asyncio.run(expire(database_url, made["id"]))
    poll_until(lambda: api.get("/api/v1/todos", headers=headers).status_code == 401, 5.0)
    error = assert_gateway_error(api.get("/api/v1/todos", headers=headers), 401, "UNAUTHORIZED")
    assert "expired" in error["message"]
    for unknown in ("tdp_" + "A" * 43, "tdp_short", "tdp_" + "é" * 43):
        authorization = f"Bearer {unknown}".encode()  # the last one is not even ASCII
        response = api.get("/api/v1/todos", headers={"Authorization": authorization})
        assert_gateway_error(response, 401, "UNAUTHORIZED")


async def connect(database_url: str) -> asyncpg.Connection:
    url = make_url(database_url).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False))


def test_a_token_is_stored_only_as_its_hash(
    api: httpx.Client, database_url: str, make_user: UserFactory
) -> None:
    """The gateway's table holds the token's SHA-256 and its displayed prefix, never the
    token: read back from PostgreSQL, no column of any row contains it (nor its secret
    part), and the row's token_hash is the digest the gateway computes."""
    user = make_user()
    made = create(api, user, name="stored hashed")
    token = made["token"]
    digest = token_hash(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()  # the code's, as documented
    assert api.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200  # in use

    async def read() -> tuple[asyncpg.Record, list[str]]:
        connection = await connect(database_url)
        try:
            row = await connection.fetchrow(
                "SELECT * FROM auth.personal_tokens WHERE id = $1", uuid.UUID(made["id"])
            )
            every_row = await connection.fetch(
                "SELECT row_to_json(t)::text AS row FROM auth.personal_tokens t"
            )
            return row, [record["row"] for record in every_row]
        finally:
            await connection.close()

    row, table = asyncio.run(read())
    assert row is not None
    secret = token[DISPLAY_CHARS:]  # what the displayed prefix leaves out
    columns = {name: str(value) for name, value in row.items()}
    for name, value in columns.items():
        assert token not in value and secret not in value, name
    assert not [stored for stored in table if token in stored or secret in stored]
    assert columns["token_hash"] == digest
    assert [name for name, value in columns.items() if digest in value] == ["token_hash"]
    assert columns["prefix"] == token[:DISPLAY_CHARS] == made["prefix"]


async def expire(database_url: str, token_id: str) -> None:
    connection = await connect(database_url)
    try:
        await connection.execute(
            "UPDATE auth.personal_tokens SET expires_at = now() - interval '1 second'"
            " WHERE id = $1",
            uuid.UUID(token_id),
        )
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\u0000b"},
        {"name": ""},
        {"name": "   "},
        {"name": "two\nlines"},
        {"name": "ends with a break\n"},
        {"name": "tab\there"},
        {"name": "\u200b"},
        {"name": "x" * 101},
        {"name": 5},
        {"name": "ok", "expires_in_days": 10**30},
        {"name": "ok", "expires_in_days": 366},
        {"name": "ok", "expires_in_days": 0},
        {"name": "ok", "expires_in_days": 1.5},
        {"name": "ok", "scopes": ["todos:admin"]},
        {"name": "ok", "scopes": "chat"},
        {"name": "ok", "scopes": []},
        {"name": "ok", "scopes": None},
        {"name": "ok", "scopes": [["chat"]]},
        {"name": "ok", "owner": "someone-else"},
        {},
    ],
)
def test_hostile_inputs_are_400(api: httpx.Client, make_user: UserFactory, body: Any) -> None:
    user = make_user()
    refused = api.post(TOKENS, json=body, headers=user.headers)
    assert_gateway_error(refused, 400, "VALIDATION_ERROR")
    assert api.get(TOKENS, headers=user.headers).json()["items"] == []


def test_a_user_has_at_most_fifty_tokens(api: httpx.Client, make_user: UserFactory) -> None:
    user = make_user()
    made = [create(api, user, name=f"token {n}") for n in range(50)]
    refused = api.post(TOKENS, json={"name": "one more"}, headers=user.headers)
    assert_gateway_error(refused, 409, "TOKEN_LIMIT_REACHED")
    assert api.delete(f"{TOKENS}/{made[0]['id']}", headers=user.headers).status_code == 204
    create(api, user, name="one more")
