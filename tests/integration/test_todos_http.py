"""The todos service's HTTP layer, in process, against a real migrated database.

The app is built by ``services.todos.app.create_app`` exactly as granian builds it; only
the environment differs (a scratch database, a key pair made for this module). These
tests pin what the controller adds on top of the service functions: status codes,
Location, ETag / If-None-Match / If-Match, the error envelope and query parsing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from services.todos.app import create_app
from shared.settings import REPO_ROOT
from shared.tokens import TokenIssuer, generate_key_pair
from tests.support.database import admin_execute, scratch_database
from tests.support.rabbit import scratch_vhost

TODOS = "/api/v1/todos"
ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"


@pytest.fixture(scope="module")
async def issuer_and_client() -> AsyncIterator[tuple[TokenIssuer, AsyncTestClient[Any]]]:
    private, public = generate_key_pair()
    migrations = REPO_ROOT / "services/todos/migrations"
    with scratch_vhost("test_todos_http") as vhost:
        async with scratch_database("test_todos_http", migrations) as url:
            env = {
                "AMQP_URL": vhost.url,
                "DATABASE_URL": url,
                "JWT_PUBLIC_KEY": public.decode(),
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": AUDIENCE,
                "DB_POOL_SIZE": "3",
                "LOG_LEVEL": "WARNING",
            }
            with pytest.MonkeyPatch.context() as patch:
                for key, value in env.items():
                    patch.setenv(key, value)
                app = create_app()
            issuer = TokenIssuer(private, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=600)
            async with AsyncTestClient(app=app) as client:
                yield issuer, client


class Caller:
    """One user of the API: a client that sends that user's token."""

    def __init__(self, client: AsyncTestClient[Any], token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def create(self, **fields: Any) -> dict[str, Any]:
        response = await self.request("POST", TODOS, json={"title": "A todo", **fields})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def make_caller(issuer_and_client):
    issuer, client = issuer_and_client
    return lambda: Caller(client, issuer.issue(str(uuid.uuid4())))


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["correlation_id"] == response.headers["X-Request-ID"]
    return error


async def test_create_answers_201_with_location_and_etag(make_caller):
    me = make_caller()
    response = await me.request("POST", TODOS, json={"title": "Buy milk"})
    assert response.status_code == 201
    todo = response.json()
    assert response.headers["Location"] == f"{TODOS}/{todo['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (todo["number"], todo["status"], todo["version"]) == (1, "pending", 1)
    assert todo["created_at"].endswith("Z")


async def test_get_etag_and_if_none_match(make_caller):
    me = make_caller()
    url = f"{TODOS}/{(await me.create())['id']}"
    response = await me.request("GET", url)
    assert (response.status_code, response.headers["ETag"]) == (200, '"1"')
    for tag in ('"1"', 'W/"1"', '"7", "1"', "*"):
        cached = await me.request("GET", url, headers={"If-None-Match": tag})
        assert (cached.status_code, cached.content) == (304, b""), tag
        assert cached.headers["ETag"] == '"1"'
    fresh = await me.request("GET", url, headers={"If-None-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.json() == response.json()


async def test_patch_if_match(make_caller):
    me = make_caller()
    url = f"{TODOS}/{(await me.create(title='v1'))['id']}"
    ok = await me.request("PATCH", url, json={"title": "v2"}, headers={"If-Match": '"1"'})
    assert (ok.status_code, ok.headers["ETag"], ok.json()["title"]) == (200, '"2"', "v2")
    weak = await me.request("PATCH", url, json={"title": "v3"}, headers={"If-Match": 'W/"2"'})
    assert weak.headers["ETag"] == '"3"'
    either = await me.request("PATCH", url, json={"title": "v4"}, headers={"If-Match": '"1", "3"'})
    assert either.headers["ETag"] == '"4"'
    anything = await me.request("PATCH", url, json={"title": "v5"}, headers={"If-Match": "*"})
    assert anything.headers["ETag"] == '"5"'

    for stale in ('"1"', '"1", "2"', "garbage"):
        response = await me.request("PATCH", url, json={"title": "x"}, headers={"If-Match": stale})
        error = error_of(response, 412, "VERSION_CONFLICT")
        assert error["details"] == {"current_version": 5}
    assert (await me.request("GET", url)).json()["title"] == "v5"


async def test_writes_honour_if_match_too(make_caller):
    me = make_caller()
    url = f"{TODOS}/{(await me.create())['id']}"
    stale = {"If-Match": '"9"'}
    for method, path in (("POST", "/complete"), ("POST", "/reopen"), ("DELETE", "")):
        error_of(await me.request(method, url + path, headers=stale), 412, "VERSION_CONFLICT")
    done = await me.request("POST", url + "/complete", headers={"If-Match": '"1"'})
    assert (done.status_code, done.headers["ETag"]) == (200, '"2"')


async def test_actions_and_soft_delete(make_caller):
    me = make_caller()
    url = f"{TODOS}/{(await me.create())['id']}"
    completed = await me.request("POST", url + "/complete")
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"
    again = await me.request("POST", url + "/complete")
    assert (again.status_code, again.json()) == (200, completed.json())
    reopened = await me.request("POST", url + "/reopen")
    assert (reopened.json()["status"], reopened.json()["completed_at"]) == ("pending", None)

    deleted = await me.request("DELETE", url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    error_of(await me.request("GET", url), 404, "NOT_FOUND")
    error_of(await me.request("DELETE", url), 404, "NOT_FOUND")
    restored = await me.request("POST", url + "/restore")
    assert restored.status_code == 200
    assert restored.headers["ETag"] == f'"{restored.json()["version"]}"'
    error_of(await me.request("POST", url + "/restore"), 404, "NOT_FOUND")


async def test_another_users_todo_and_bad_ids_are_404(make_caller):
    me, other = make_caller(), make_caller()
    url = f"{TODOS}/{(await me.create())['id']}"
    for method, path, headers in (
        ("GET", url, {}),
        ("PATCH", url, {}),
        ("PATCH", url, {"If-Match": '"7"'}),
        ("PATCH", url, {"If-Match": '"7", "8"'}),
        ("DELETE", url, {}),
        ("POST", url + "/complete", {"If-Match": '"1"'}),
        ("POST", url + "/restore", {}),
        ("GET", f"{TODOS}/not-a-uuid", {}),
        ("PATCH", f"{TODOS}/42", {}),
        ("DELETE", f"{TODOS}/{uuid.uuid4()}", {}),
        ("POST", f"{TODOS}/%20/reopen", {}),
    ):
        kwargs = {"json": {"title": "x"}} if method == "PATCH" else {}
        response = await other.request(method, path, headers=headers, **kwargs)
        error_of(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "body", "key"),
    [
        ("POST", {}, "title"),
        ("POST", {"title": "   "}, "title"),
        ("POST", {"title": "x", "colour": "red"}, "colour"),
        ("POST", {"title": "x", "tags": ["ok", " "]}, "tags[1]"),
        ("POST", {"title": "x", "due_at": "tomorrow"}, "due_at"),
        ("POST", {"title": "buy\u0000milk"}, "title"),
        ("POST", {"title": "x", "description": "a\u0000b"}, "description"),
        ("POST", {"title": "x", "tags": ["ok", "b\u0000d"]}, "tags[1]"),
        ("PATCH", {"title": "bell\u0007"}, "title"),
        ("PATCH", {"title": None}, "title"),
        ("PATCH", {"status": "done"}, "status"),
    ],
)
async def test_bad_bodies_name_the_field(make_caller, method, body, key):
    me = make_caller()
    url = TODOS if method == "POST" else f"{TODOS}/{(await me.create())['id']}"
    error = error_of(await me.request(method, url, json=body), 400, "VALIDATION_ERROR")
    assert key in str(error["details"]["fields"])


async def test_list_parses_its_query(make_caller):
    me = make_caller()
    await me.create(title="a", priority="low", tags=["x", "y"])
    await me.create(title="b", priority="urgent", tags=["x"])
    await me.create(title="c", priority="high")

    async def titles(**params: Any) -> list[str]:
        response = await me.request("GET", TODOS, params=params)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await titles() == ["c", "b", "a"]
    assert await titles(priority=["low", "urgent"], sort="title") == ["a", "b"]
    assert await titles(tag=["x", "y"]) == ["a"]
    assert await titles(q="B") == ["b"]
    assert await titles(number=2**31 - 1) == []
    assert await titles(q="line\nbreak") == []

    first = (await me.request("GET", TODOS, params={"limit": 2, "sort": "priority"})).json()
    assert [t["title"] for t in first["items"]] == ["a", "c"]
    rest = await titles(limit=2, sort="priority", cursor=first["next_cursor"])
    assert rest == ["b"]
    wrong_sort = await me.request("GET", TODOS, params={"cursor": first["next_cursor"]})
    error = error_of(wrong_sort, 400, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["key"] == "cursor"
    for params, key in (
        ({"limit": 101}, "limit"),
        ({"sort": "id"}, "sort"),
        ({"number": 2**31}, "number"),  # beyond a Postgres integer
        ({"q": "a\u0000"}, "q"),
        ({"tag": ["x", "\u0000"]}, "tag"),
    ):
        response = await me.request("GET", TODOS, params=params)
        assert error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"][0]["key"] == key


async def test_a_token_is_required(issuer_and_client):
    _, client = issuer_and_client
    error_of(await client.get(TODOS), 401, "UNAUTHORIZED")
    error_of(
        await client.get(TODOS, headers={"Authorization": "Bearer x.y.z"}), 401, "UNAUTHORIZED"
    )


async def test_openapi_lists_the_routes(issuer_and_client):
    _, client = issuer_and_client
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {TODOS, f"{TODOS}/{{todo_id}}", f"{TODOS}/{{todo_id}}/restore"} <= set(paths)


async def test_lost_database_connections_answer_503_then_recover(make_caller):
    caller = make_caller()
    todo = await caller.create(title="survives a database restart")
    await admin_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname LIKE 'test_todos_http_%' AND application_name = 'todos'",
    )
    statuses = []
    for _ in range(8):  # the pool holds 3 connections, all dead now
        response = await caller.request("GET", f"{TODOS}/{todo['id']}")
        if response.status_code != 200:
            error_of(response, 503, "SERVICE_UNAVAILABLE")
        statuses.append(response.status_code)
    # A dead pooled connection costs at most one 503 (never a 500) — none when the driver
    # has already seen the server's termination notice — then the pool heals.
    assert set(statuses) <= {200, 503} and statuses.count(503) <= 3, statuses
    assert statuses[-3:] == [200, 200, 200], statuses
