"""Request and response bodies of the gateway's auth API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
# Byte length (8..72, bcrypt's limit) is checked by the service; this caps the text size.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Password


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Token


class UserOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    name: str | None
    created_at: datetime


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
