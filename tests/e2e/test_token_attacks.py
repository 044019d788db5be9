"""Forged, expired and missing access tokens are refused with 401 — at the gateway and at
the todos service itself (services verify tokens; they never trust the gateway)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.tokens import generate_key_pair, key_id
from tests.support.hostile import UNKNOWN_ID
from tests.support.stack import JwtKeys, Stack, User, UserFactory

ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
        "jti": uuid.uuid4().hex, "typ": "access",
    }  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def kid_of(public_pem: bytes) -> str:
    key = serialization.load_pem_public_key(public_pem)
    return key_id(key)  # type: ignore[arg-type]


def sign(keys: JwtKeys, body: dict[str, object], private_pem: bytes | None = None) -> str:
    key = serialization.load_pem_private_key(private_pem or keys.private_pem, password=None)
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": kid_of(keys.public_pem)})  # type: ignore[arg-type]


def forged_tokens(keys: JwtKeys, user: User) -> dict[str, str]:
    kid = kid_of(keys.public_pem)
    header_none = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims(user.id)).encode())
    hs_header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    hs_signature = hmac.new(keys.public_pem, f"{hs_header}.{payload}".encode(), hashlib.sha256)
    head, body, signature = user.access_token.split(".")
    other_private, _ = generate_key_pair()
    tampered_body = b64(json.dumps(claims(str(uuid.uuid4()))).encode())
    return {
        "alg none": f"{header_none}.{payload}.",
        "HS256 keyed with the public key": f"{hs_header}.{payload}.{b64(hs_signature.digest())}",
        "tampered payload": f"{head}.{tampered_body}.{signature}",
        "tampered signature": f"{head}.{body}.{signature[:-4]}AAAA",
        "expired": sign(
            keys, claims(user.id, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
        ),
        "wrong audience": sign(keys, claims(user.id, aud="someone-else")),
        "wrong issuer": sign(keys, claims(user.id, iss="https://evil.example")),
        "missing exp": sign(keys, claims(user.id, exp=None)),
        "missing sub": sign(keys, claims(user.id, sub=None)),
        "not an access token": sign(keys, claims(user.id, typ="refresh")),
        "signed with another key": sign(keys, claims(user.id), private_pem=other_private),
        "refresh token as bearer": user.refresh_token,
        "garbage": "not-a-jwt",
    }


@pytest.fixture
def victim(make_user: UserFactory) -> User:
    return make_user()


def test_forged_tokens_are_401_at_gateway_and_service(
    stack: Stack, jwt_keys: JwtKeys, victim: User
) -> None:
    # The genuine token works on both, so each 401 below is about the forgery alone.
    for base in (stack.gateway.url, stack.todos.url):
        ok = httpx.get(f"{base}/api/v1/todos", headers=victim.headers)
        assert ok.status_code == 200, ok.text
    for name, token in forged_tokens(jwt_keys, victim).items():
        for base in (stack.gateway.url, stack.todos.url):
            response = httpx.get(
                f"{base}/api/v1/todos", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, f"{name} at {base}: {response.status_code}"
            assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/api/v1/todos", f"/api/v1/todos/{UNKNOWN_ID}", "/api/v1/chat"])
def test_every_method_needs_a_token(api: httpx.Client, method: str, path: str) -> None:
    response = api.request(method, path)
    assert response.status_code == 401
    if method != "HEAD":
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/todos"),
        ("OPTIONS", "/api/v1/todos"),
        ("POST", "/api/v1/todos"),
        ("GET", f"/api/v1/todos/{UNKNOWN_ID}"),
        ("PATCH", f"/api/v1/todos/{UNKNOWN_ID}"),
        ("DELETE", f"/api/v1/todos/{UNKNOWN_ID}"),
    ],
)
def test_todos_service_needs_a_token_too(stack: Stack, method: str, path: str) -> None:
    response = httpx.request(method, f"{stack.todos.url}{path}")
    assert response.status_code == 401


def test_malformed_authorization_headers(api: httpx.Client, victim: User) -> None:
    for value in ("", "Bearer", "Bearer x.y", f"Basic {victim.access_token}", victim.access_token):
        response = api.get("/api/v1/todos", headers={"Authorization": value})
        assert response.status_code == 401, value
