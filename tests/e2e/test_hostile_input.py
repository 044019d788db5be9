"""Hostile input at the gateway and the todos service: a body that is not UTF-8, NUL
characters, instants outside years 1..9999 once in UTC, cursors that decode to impossible
values, access tokens whose claims have the wrong type.

Each is a 4xx in the error envelope naming the field, writes nothing, and the very next
normal request is served. Every todos case is sent through the gateway and straight to the
todos service (which verifies the token itself); the auth routes live on the gateway only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.hostile import (
    BAD_UTF8,
    JSON,
    OUT_OF_RANGE_INSTANTS,
    WRONG_TYPED_CLAIMS,
    assert_bad_body,
    assert_field,
    bearer,
    check_forged_token_served,
    check_wrong_typed_claim,
    cursor,
    cursor_cases,
    first_field,
    ok,
    raw_json,
    refused,
)
from tests.support.stack import JwtKeys, Stack, User, register_user

AUTH = "/api/v1/auth"
TODOS = "/api/v1/todos"
PASSWORD = "correct horse battery"
VALID_DUE = "2030-01-01T09:00:00Z"


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def owner(stack: Stack) -> User:
    return register_user(stack.gateway.url, PASSWORD)


@pytest.fixture(scope="module")
def todo(stack: Stack, owner: User) -> dict[str, Any]:
    """A todo of ``owner`` that the PATCH cases try to change."""
    created = httpx.post(
        stack.gateway.url + TODOS,
        json={"title": "leave me be", "tags": ["keep"]},
        headers=owner.headers,
    )
    return ok(created, 201)


@pytest.fixture(params=["gateway", "todos"])
def target(request: pytest.FixtureRequest, stack: Stack) -> Iterator[httpx.Client]:
    """A client of the gateway, then of the todos service's own port."""
    base = stack.gateway.url if request.param == "gateway" else stack.todos.url
    with httpx.Client(base_url=base, timeout=10) as client:
        yield client


def todos_of(stack: Stack, user: User) -> dict[str, Any]:
    """Every todo of ``user`` (live and in the trash), id -> what it holds."""
    found = {}
    for deleted in ("false", "true"):
        page = httpx.get(
            stack.todos.url + TODOS,
            params={"limit": 100, "deleted": deleted},
            headers=user.headers,
        )
        for item in ok(page)["items"]:
            found[item["id"]] = item
    return found


def fresh_email() -> str:
    return f"hostile-{uuid.uuid4().hex[:12]}@example.com"


def log_in(api: httpx.Client, user: User) -> dict[str, Any]:
    login = api.post(f"{AUTH}/login", json={"email": user.email, "password": user.password})
    return ok(login)


def write_normally(client: httpx.Client, user: User, method: str, todo_id: str) -> None:
    """The same route with a body that is fine: it is served."""
    if method == "create":
        ok(
            client.post(
                TODOS, json={"title": "served after", "due_at": VALID_DUE}, headers=user.headers
            ),
            201,
        )
    else:
        changed = client.patch(
            f"{TODOS}/{todo_id}", json={"title": "leave me be"}, headers=user.headers
        )
        ok(changed)


def send_body(
    client: httpx.Client, user: User, method: str, todo_id: str, **kwargs: Any
) -> httpx.Response:
    headers = {**kwargs.pop("headers", {}), **user.headers}
    if method == "create":
        return client.post(TODOS, headers=headers, **kwargs)
    return client.patch(f"{TODOS}/{todo_id}", headers=headers, **kwargs)


# -- 1. bodies that are not UTF-8 --------------------------------------------------------------
BAD = pytest.mark.parametrize("bad", list(BAD_UTF8.values()), ids=list(BAD_UTF8))


@BAD
def test_register_body_not_utf8(api: httpx.Client, bad: bytes) -> None:
    email = fresh_email()
    body = raw_json({"email": email, "password": PASSWORD, "name": bad})
    assert_bad_body(api.post(f"{AUTH}/register", content=body, headers=JSON))
    # Nothing was written: the email is free, and registering it is served.
    ok(api.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD}), 201)


@BAD
def test_login_body_not_utf8(api: httpx.Client, owner: User, bad: bytes) -> None:
    body = raw_json({"email": owner.email, "password": bad})
    assert_bad_body(api.post(f"{AUTH}/login", content=body, headers=JSON))
    log_in(api, owner)


@BAD
def test_refresh_body_not_utf8(api: httpx.Client, owner: User, bad: bytes) -> None:
    tokens = log_in(api, owner)
    body = raw_json({"refresh_token": tokens["refresh_token"].encode() + bad})
    assert_bad_body(api.post(f"{AUTH}/refresh", content=body, headers=JSON))
    # The refresh token was neither rotated nor revoked: it still refreshes.
    ok(api.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]}))


@BAD
def test_logout_body_not_utf8(api: httpx.Client, owner: User, bad: bytes) -> None:
    tokens = log_in(api, owner)
    headers = {**JSON, **bearer(tokens["access_token"])}
    body = raw_json({"refresh_token": tokens["refresh_token"].encode() + bad})
    assert_bad_body(api.post(f"{AUTH}/logout", content=body, headers=headers))
    # Nothing was revoked: the refresh token still works, and a real logout is served.
    again = ok(api.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]}))
    logout = api.post(
        f"{AUTH}/logout",
        json={"refresh_token": again["refresh_token"]},
        headers=bearer(again["access_token"]),
    )
    assert logout.status_code == 204, logout.text


@BAD
@pytest.mark.parametrize("method", ["create", "update"])
def test_todo_body_not_utf8(
    target: httpx.Client, stack: Stack, owner: User, todo: dict[str, Any], method: str, bad: bytes
) -> None:
    before = todos_of(stack, owner)
    body = raw_json({"title": bad})
    assert_bad_body(send_body(target, owner, method, todo["id"], content=body, headers=JSON))
    assert todos_of(stack, owner) == before
    write_normally(target, owner, method, todo["id"])


# -- 2. NUL characters ------------------------------------------------------------------------
def named(key: str) -> Callable[[str], bool]:
    return lambda found: found == key


def holding(part: str) -> Callable[[str], bool]:
    return lambda found: part in found


def the_nul_key(found: str) -> bool:
    """The key ``"a\\u0000b"`` itself (raw or escaped)."""
    return found.startswith("a") and found.endswith("b")


@pytest.mark.parametrize(
    ("field", "body", "names"),
    [
        pytest.param("name", {"name": "a\x00b"}, named("name"), id="name"),
        pytest.param("email", {}, named("email"), id="email"),
        pytest.param("key", {"a\x00b": "x"}, the_nul_key, id="object-key"),
    ],
)
def test_register_with_nul(
    api: httpx.Client, field: str, body: dict[str, Any], names: Callable[[str], bool]
) -> None:
    email = fresh_email()
    sent = {
        "email": email.replace("@", "\x00@") if field == "email" else email,
        "password": PASSWORD,
    }
    error = refused(api.post(f"{AUTH}/register", json={**sent, **body}))
    assert_field(error, "body")
    assert names(first_field(error)["key"]), error
    ok(api.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD}), 201)


def test_login_with_nul_in_email(api: httpx.Client, owner: User) -> None:
    email = owner.email.replace("@", "\x00@")
    error = refused(api.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD}))
    assert_field(error, "body", key="email")
    log_in(api, owner)


@pytest.mark.parametrize(
    ("body", "names"),
    [
        pytest.param({"title": "a\x00b"}, named("title"), id="title"),
        pytest.param(
            {"title": "ok", "description": "a\x00b"}, named("description"), id="description"
        ),
        pytest.param({"title": "ok", "tags": ["fine", "a\x00b"]}, holding("tags"), id="tags[1]"),
        pytest.param({"title": "ok", "a\x00b": "x"}, the_nul_key, id="object-key"),
    ],
)
@pytest.mark.parametrize("method", ["create", "update"])
def test_todo_body_with_nul(
    target: httpx.Client,
    stack: Stack,
    owner: User,
    todo: dict[str, Any],
    method: str,
    body: dict[str, Any],
    names: Callable[[str], bool],
) -> None:
    before = todos_of(stack, owner)
    error = refused(send_body(target, owner, method, todo["id"], json=body))
    assert_field(error, "body")
    assert names(first_field(error)["key"]), error
    assert todos_of(stack, owner) == before
    write_normally(target, owner, method, todo["id"])


@pytest.mark.parametrize(
    ("name", "value"), [("q", "a\x00b"), ("tag", "a\x00b"), ("sort", "title\x00")]
)
def test_list_query_with_nul(target: httpx.Client, owner: User, name: str, value: str) -> None:
    error = refused(target.get(TODOS, params={name: value}, headers=owner.headers))
    assert_field(error, "query", key=name)
    ok(
        target.get(
            TODOS, params={"q": "leave", "tag": "keep", "sort": "title"}, headers=owner.headers
        )
    )


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"title": "x"}),
        ("DELETE", "", None),
        ("POST", "/complete", None),
    ],
    ids=["get", "patch", "delete", "complete"],
)
def test_todo_id_with_nul(
    target: httpx.Client,
    stack: Stack,
    owner: User,
    todo: dict[str, Any],
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    before = todos_of(stack, owner)
    response = target.request(method, f"{TODOS}/a%00b{suffix}", json=body, headers=owner.headers)
    assert_field(refused(response), "path", key="todo_id")
    assert todos_of(stack, owner) == before
    ok(target.get(f"{TODOS}/{todo['id']}", headers=owner.headers))


# -- 3. instants outside years 1..9999 once in UTC -----------------------------------------
INSTANTS = pytest.mark.parametrize(
    "instant", list(OUT_OF_RANGE_INSTANTS.values()), ids=list(OUT_OF_RANGE_INSTANTS)
)


@INSTANTS
@pytest.mark.parametrize("method", ["create", "update"])
def test_due_at_out_of_range(
    target: httpx.Client, stack: Stack, owner: User, todo: dict[str, Any], method: str, instant: str
) -> None:
    before = todos_of(stack, owner)
    response = send_body(target, owner, method, todo["id"], json={"title": "t", "due_at": instant})
    assert_field(refused(response), "body", key="due_at")
    assert todos_of(stack, owner) == before
    write_normally(target, owner, method, todo["id"])


@INSTANTS
@pytest.mark.parametrize("name", ["due_before", "due_after"])
def test_due_filter_out_of_range(
    target: httpx.Client, owner: User, name: str, instant: str
) -> None:
    error = refused(target.get(TODOS, params={name: instant}, headers=owner.headers))
    assert_field(error, "query", key=name)
    ok(target.get(TODOS, params={name: VALID_DUE}, headers=owner.headers))


# -- 4. cursors that decode to impossible values -------------------------------------------
LEGAL_VALUES: dict[str, Any] = {
    "-created_at": "2024-05-01T10:00:00Z",
    "due_at": "2024-05-01T10:00:00Z",
    "priority": 2,
    "title": "m",
}


def _legal_title(sort: str) -> Callable[[int, Any], bool]:
    # A string without NUL is a legal title to start after (200 is right for it).
    def skip(position: int, value: Any) -> bool:
        return sort == "title" and position == 1 and isinstance(value, str) and "\x00" not in value

    return skip


TODO_CURSORS = [
    pytest.param(sort, *case.values, id=f"{sort}-{case.id}")
    for sort, value in LEGAL_VALUES.items()
    for case in cursor_cases([sort, value, str(uuid.uuid4())], _legal_title(sort))
]


@pytest.mark.parametrize(("sort", "parts"), TODO_CURSORS)
def test_impossible_cursor(target: httpx.Client, owner: User, sort: str, parts: list[Any]) -> None:
    response = target.get(
        TODOS, params={"sort": sort, "cursor": cursor(parts)}, headers=owner.headers
    )
    assert_field(refused(response), "query", key="cursor")
    ok(target.get(TODOS, params={"sort": sort}, headers=owner.headers))


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        *LEGAL_VALUES.items(),
        ("title", "9999-12-31T23:59:59-14:00"),
        ("title", "0001-01-01T00:00:00+14:00"),
    ],
)
def test_a_legal_cursor_of_each_shape_is_accepted(
    target: httpx.Client, owner: User, sort: str, value: Any
) -> None:
    """The shapes above are right: with legal values, the same cursors are served."""
    parts = [sort, value, str(uuid.uuid4())]
    ok(target.get(TODOS, params={"sort": sort, "cursor": cursor(parts)}, headers=owner.headers))


# -- 5. access tokens whose claims have the wrong type --------------------------------------
TOKEN_TARGETS = [
    pytest.param("gateway", f"{AUTH}/me", id="gateway-me"),
    pytest.param("gateway", TODOS, id="gateway-todos"),
    pytest.param("todos", TODOS, id="todos-service"),
]


def _base(stack: Stack, where: str) -> str:
    return stack.gateway.url if where == "gateway" else stack.todos.url


@pytest.mark.parametrize(("where", "path"), TOKEN_TARGETS)
@pytest.mark.parametrize("case", list(WRONG_TYPED_CLAIMS))
def test_wrong_typed_claim_is_401(
    stack: Stack, jwt_keys: JwtKeys, owner: User, where: str, path: str, case: str
) -> None:
    url = _base(stack, where) + path
    check_wrong_typed_claim(
        lambda headers: httpx.get(url, headers=headers), jwt_keys.private_pem, owner, case
    )


@pytest.mark.parametrize(("where", "path"), TOKEN_TARGETS)
def test_a_token_forged_with_valid_claims_is_accepted(
    stack: Stack, jwt_keys: JwtKeys, owner: User, where: str, path: str
) -> None:
    url = _base(stack, where) + path
    check_forged_token_served(
        lambda headers: httpx.get(url, headers=headers), jwt_keys.private_pem, owner
    )
