"""Hostile input at the chat service (offline engine): a body that is not UTF-8, NUL
characters, cursors that decode to impossible values, access tokens whose claims have the
wrong type.

Each is a 4xx in the error envelope naming the field, writes nothing (no conversation, no
message, no new title), and the very next normal request is served. Every case is sent
through the gateway and straight to the chat service (which verifies the token itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.chat import CHAT, CONVERSATIONS, ChatGateway, turn
from tests.support.hostile import (
    BAD_UTF8,
    JSON,
    WRONG_TYPED_CLAIMS,
    assert_bad_body,
    assert_field,
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

TITLE = "the conversation"


@pytest.fixture(scope="module")
def user(stack: Stack) -> User:
    return register_user(stack.gateway.url)


@pytest.fixture(scope="module")
def conversation_id(chat_gateway: ChatGateway, user: User) -> str:
    """A conversation of ``user`` the cases try to add to and rename."""
    started = turn(chat_gateway.url, user, "hello")["conversation_id"]
    renamed = httpx.patch(
        f"{chat_gateway.url}{CONVERSATIONS}/{started}", json={"title": TITLE}, headers=user.headers
    )
    ok(renamed)
    return str(started)


@pytest.fixture(params=["gateway", "chat"])
def target(request: pytest.FixtureRequest, chat_gateway: ChatGateway) -> Iterator[httpx.Client]:
    """A client of the gateway, then of the chat service's own port."""
    base = chat_gateway.url if request.param == "gateway" else chat_gateway.chat.url
    with httpx.Client(base_url=base, timeout=20) as client:
        yield client


def chat_state(chat_gateway: ChatGateway, user: User, conversation_id: str) -> dict[str, Any]:
    """What ``user`` has: the conversations, and the messages of ``conversation_id``."""
    base = chat_gateway.chat.url + CONVERSATIONS
    listing = ok(httpx.get(base, params={"limit": 100}, headers=user.headers))
    detail = ok(httpx.get(f"{base}/{conversation_id}", params={"limit": 100}, headers=user.headers))
    return {
        "conversations": listing["items"],
        "next": listing["next_cursor"],
        "title": detail["title"],
        "messages": [message["id"] for message in detail["messages"]],
    }


def send_body(
    client: httpx.Client, user: User, route: str, conversation_id: str, **kwargs: Any
) -> httpx.Response:
    headers = {**kwargs.pop("headers", {}), **user.headers}
    if route == "chat":
        return client.post(CHAT, headers=headers, **kwargs)
    return client.patch(f"{CONVERSATIONS}/{conversation_id}", headers=headers, **kwargs)


def use_normally(client: httpx.Client, user: User, route: str, conversation_id: str) -> None:
    """The same route with a body that is fine: it is served (a turn in a new conversation,
    so the one the cases aim at keeps its messages)."""
    if route == "chat":
        ok(client.post(CHAT, json={"message": "hello"}, headers=user.headers))
    else:
        patched = client.patch(
            f"{CONVERSATIONS}/{conversation_id}", json={"title": TITLE}, headers=user.headers
        )
        ok(patched)


ROUTES = pytest.mark.parametrize("route", ["chat", "rename"])


# -- 1. bodies that are not UTF-8 --------------------------------------------------------------
@pytest.mark.parametrize("bad", list(BAD_UTF8.values()), ids=list(BAD_UTF8))
@ROUTES
def test_body_not_utf8(
    target: httpx.Client,
    chat_gateway: ChatGateway,
    user: User,
    conversation_id: str,
    route: str,
    bad: bytes,
) -> None:
    before = chat_state(chat_gateway, user, conversation_id)
    if route == "chat":
        body = raw_json({"message": bad, "conversation_id": conversation_id})
    else:
        body = raw_json({"title": bad})
    assert_bad_body(send_body(target, user, route, conversation_id, content=body, headers=JSON))
    assert chat_state(chat_gateway, user, conversation_id) == before
    use_normally(target, user, route, conversation_id)


# -- 2. NUL characters ------------------------------------------------------------------------
def named(key: str) -> Callable[[str], bool]:
    return lambda found: found == key


def the_nul_key(found: str) -> bool:
    """The key ``"a\\u0000b"`` itself (raw or escaped)."""
    return found.startswith("a") and found.endswith("b")


@pytest.mark.parametrize(
    ("route", "body", "names"),
    [
        pytest.param("chat", {"message": "a\x00b"}, named("message"), id="chat-message"),
        pytest.param(
            "chat",
            {"message": "hi", "conversation_id": "a\x00b"},
            named("conversation_id"),
            id="chat-conversation_id",
        ),
        pytest.param("chat", {"message": "hi", "a\x00b": 1}, the_nul_key, id="chat-object-key"),
        pytest.param("rename", {"title": "a\x00b"}, named("title"), id="rename-title"),
        pytest.param("rename", {"title": "ok", "a\x00b": 1}, the_nul_key, id="rename-object-key"),
    ],
)
def test_body_with_nul(
    target: httpx.Client,
    chat_gateway: ChatGateway,
    user: User,
    conversation_id: str,
    route: str,
    body: dict[str, Any],
    names: Callable[[str], bool],
) -> None:
    before = chat_state(chat_gateway, user, conversation_id)
    if route == "chat":
        body = {"conversation_id": conversation_id, **body}
    error = refused(send_body(target, user, route, conversation_id, json=body))
    assert_field(error, "body")
    assert names(first_field(error)["key"]), error
    assert chat_state(chat_gateway, user, conversation_id) == before
    use_normally(target, user, route, conversation_id)


# -- 4. cursors that decode to impossible values -------------------------------------------
LEGAL_CONVERSATIONS = ["conversations", "2024-05-01T10:00:00Z", str(uuid.uuid4())]
LEGAL_MESSAGES = ["messages", 1]


@pytest.mark.parametrize("parts", cursor_cases(LEGAL_CONVERSATIONS))
def test_impossible_conversations_cursor(
    target: httpx.Client, user: User, parts: list[Any]
) -> None:
    response = target.get(CONVERSATIONS, params={"cursor": cursor(parts)}, headers=user.headers)
    assert_field(refused(response), "query", key="cursor")
    ok(target.get(CONVERSATIONS, headers=user.headers))


@pytest.mark.parametrize("parts", cursor_cases(LEGAL_MESSAGES))
def test_impossible_messages_cursor(
    target: httpx.Client, user: User, conversation_id: str, parts: list[Any]
) -> None:
    path = f"{CONVERSATIONS}/{conversation_id}"
    response = target.get(path, params={"cursor": cursor(parts)}, headers=user.headers)
    assert_field(refused(response), "query", key="cursor")
    ok(target.get(path, headers=user.headers))


@pytest.mark.parametrize(
    "parts", [LEGAL_CONVERSATIONS, LEGAL_MESSAGES], ids=["conversations", "messages"]
)
def test_a_legal_cursor_of_each_shape_is_accepted(
    target: httpx.Client, user: User, conversation_id: str, parts: list[Any]
) -> None:
    """The shapes above are right: with legal values, the same cursors are served."""
    path = CONVERSATIONS if parts[0] == "conversations" else f"{CONVERSATIONS}/{conversation_id}"
    ok(target.get(path, params={"cursor": cursor(parts)}, headers=user.headers))


# -- 5. access tokens whose claims have the wrong type --------------------------------------
@pytest.mark.parametrize("case", list(WRONG_TYPED_CLAIMS))
def test_wrong_typed_claim_is_401(
    target: httpx.Client, jwt_keys: JwtKeys, user: User, case: str
) -> None:
    check_wrong_typed_claim(
        lambda headers: target.get(CONVERSATIONS, headers=headers), jwt_keys.private_pem, user, case
    )


def test_a_token_forged_with_valid_claims_is_accepted(
    target: httpx.Client, jwt_keys: JwtKeys, user: User
) -> None:
    check_forged_token_served(
        lambda headers: target.get(CONVERSATIONS, headers=headers), jwt_keys.private_pem, user
    )
