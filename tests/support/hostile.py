"""Hostile inputs, and the checks of their refusal, shared by the ``test_hostile_input`` files
(``tests/e2e``, ``tests/e2e/chat``, ``tests/e2e/contexts``) and ``tests/unit/test_tokens.py``.

Every class of input here once answered 500 somewhere; each must be a 4xx in the error
envelope (``{"error": {"code", "message", "details", "correlation_id", "timestamp"}}``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.tokens import key_id
from tests.support.stack import User

# An id no object has. Fixed, not random: test ids built from it are the same in every
# process that collects the tests (pytest-xdist compares them).
UNKNOWN_ID = "5b0e2a52-9a1d-4c61-9d3e-1f0a7c2b8e44"

# -- bodies that are not UTF-8 --------------------------------------------------------------
# Raw bytes inside a JSON string: a lone 0xFF, and the overlong two-byte encoding of "/".
BAD_UTF8: dict[str, bytes] = {"0xff": b"a\xff", "overlong-slash": b"a\xc0\xaf"}


def raw_json(fields: dict[str, Any]) -> bytes:
    """A JSON object whose ``bytes`` values are written as strings byte for byte (so they
    can hold bytes that are not UTF-8); the other values are JSON-encoded."""
    parts = []
    for key, value in fields.items():
        encoded = b'"' + value + b'"' if isinstance(value, bytes) else json.dumps(value).encode()
        parts.append(json.dumps(key).encode() + b": " + encoded)
    return b"{" + b", ".join(parts) + b"}"


JSON = {"Content-Type": "application/json"}

# -- instants valid in RFC 3339 whose UTC time falls outside years 1..9999 -------------------
LATE = "9999-12-31T23:59:59-14:00"
EARLY = "0001-01-01T00:00:00+14:00"
OUT_OF_RANGE_INSTANTS: dict[str, str] = {"after-9999": LATE, "before-0001": EARLY}

# -- cursors ---------------------------------------------------------------------------------
# Values no column can hold, for every position of a cursor that holds a number, an instant
# or a string.
CURSOR_VALUES: dict[str, Any] = {
    "2**63": 2**63,
    "-2**63-1": -(2**63) - 1,
    "10**40": 10**40,
    "after-9999": LATE,
    "before-0001": EARLY,
    "nul": "a\x00",
}
UUID_WITH_NUL = str(uuid.UUID(int=1))[:-1] + "\x00"


def cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).rstrip(b"=").decode()


def cursor_cases(shape: list[Any], skip: Callable[[int, Any], bool] | None = None) -> list[Any]:
    """``(cursor parts, id)`` for each value of :data:`CURSOR_VALUES` put in each position
    of ``shape`` (a legal cursor), plus a uuid with a NUL in each position holding a uuid;
    ``skip(position, value)`` leaves out a combination that is legal."""
    cases = []
    for position, legal in enumerate(shape):
        values = dict(CURSOR_VALUES)
        if _is_uuid(legal):
            values["uuid-nul"] = UUID_WITH_NUL
        for name, value in values.items():
            if skip is not None and skip(position, value):
                continue
            parts = [*shape[:position], value, *shape[position + 1 :]]
            cases.append(pytest.param(parts, id=f"{position}:{name}"))
    return cases


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# -- the refusal -----------------------------------------------------------------------------
ENVELOPE_KEYS = {"code", "message", "details", "correlation_id", "timestamp"}


def refused(
    response: httpx.Response, status: int = 400, code: str = "VALIDATION_ERROR"
) -> dict[str, Any]:
    """The ``error`` of an answer in the envelope with ``status`` and ``code``."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:600]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) >= ENVELOPE_KEYS, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return error


def first_field(error: dict[str, Any]) -> dict[str, Any]:
    fields = error["details"].get("fields")
    assert isinstance(fields, list) and fields, error
    field: dict[str, Any] = fields[0]
    assert isinstance(field.get("key"), str) and isinstance(field.get("message"), str), error
    return field


def assert_field(
    error: dict[str, Any], source: str, *, key: str | None = None, contains: str | None = None
) -> None:
    """``details.fields[0]`` comes from ``source`` and is ``key`` (or contains ``contains``)."""
    field = first_field(error)
    assert field.get("source") == source, error
    if key is not None:
        assert field["key"] == key, error
    if contains is not None:
        assert contains in field["key"], error


def assert_bad_body(response: httpx.Response) -> None:
    """The 400 for a body that is not UTF-8: exactly one field, the body."""
    error = refused(response)
    fields = error["details"].get("fields")
    assert isinstance(fields, list) and len(fields) == 1, error
    assert isinstance(fields[0].get("message"), str), error
    expected = {"fields": [{"key": "body", "message": fields[0]["message"], "source": "body"}]}
    assert error["details"] == expected, error


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text[:600]}"
    return response.json() if response.content else None


# -- access tokens with claims of the wrong type --------------------------------------------
ISSUER, AUDIENCE = "todo-platform", "todo-platform-api"


def access_claims(
    user_id: str, *, issuer: str = ISSUER, audience: str = AUDIENCE
) -> dict[str, Any]:
    """The claims of a valid access token of ``user_id``, as the gateway issues them."""
    now = int(time.time())
    return {
        "sub": user_id, "iss": issuer, "aud": audience, "iat": now, "exp": now + 600,
        "jti": uuid.uuid4().hex, "typ": "access",
    }  # fmt: skip


# Each: the claims to replace, computed when the token is made (times are "now"). Every
# other claim is valid; a time sent as a string would be valid as a number (``iat`` and
# ``nbf`` are "now", not in the future, so nothing but the type is wrong).
WRONG_TYPED_CLAIMS: dict[str, Callable[[int], dict[str, Any]]] = {
    "sub-not-a-uuid": lambda now: {"sub": "not-a-uuid"},
    "sub-with-nul": lambda now: {"sub": "a\x00"},
    "exp-numeric-string": lambda now: {"exp": str(now + 600)},
    "iat-numeric-string": lambda now: {"iat": str(now)},
    "nbf-numeric-string": lambda now: {"nbf": str(now)},
    "exp-boolean": lambda now: {"exp": True},
    "iat-boolean": lambda now: {"iat": True},
    "nbf-boolean": lambda now: {"nbf": True},
    "jti-number": lambda now: {"jti": 12345},
    "jti-list": lambda now: {"jti": ["a"]},
    # ``scope``: known scope names separated by single spaces; ``pat``: a personal token id.
    "scope-list": lambda now: {"scope": ["chat"]},
    "scope-number": lambda now: {"scope": 1},
    "scope-unknown": lambda now: {"scope": "chat admin"},
    "scope-empty": lambda now: {"scope": ""},
    "scope-double-space": lambda now: {"scope": "chat  contexts"},
    "scope-with-nul": lambda now: {"scope": "chat\x00"},
    "pat-number": lambda now: {"pat": 7},
    "pat-not-an-id": lambda now: {"pat": "my-token"},
}


def sign(private_pem: bytes, claims: dict[str, Any]) -> str:
    """``claims`` signed as the gateway signs (EdDSA, ``kid`` of the key), whatever they hold."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key())})


def wrong_typed_token(
    private_pem: bytes, user_id: str, case: str, *, issuer: str = ISSUER, audience: str = AUDIENCE
) -> str:
    claims = access_claims(user_id, issuer=issuer, audience=audience)
    claims.update(WRONG_TYPED_CLAIMS[case](int(time.time())))
    return sign(private_pem, claims)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


Get = Callable[[dict[str, str]], httpx.Response]  # a request of a route, with these headers


def check_wrong_typed_claim(get: Get, private_pem: bytes, user: User, case: str) -> None:
    """A token whose claim ``case`` has the wrong type is a 401 (twice: a refused token is
    not remembered as good either), and the user's own token is still served."""
    token = wrong_typed_token(private_pem, user.id, case)
    refused(get(bearer(token)), 401, "UNAUTHORIZED")
    refused(get(bearer(token)), 401, "UNAUTHORIZED")
    ok(get(user.headers))


def check_forged_token_served(get: Get, private_pem: bytes, user: User) -> None:
    """The forging of :func:`wrong_typed_token` is right: with every claim valid, served."""
    ok(get(bearer(sign(private_pem, access_claims(user.id)))))
