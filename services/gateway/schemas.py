"""Request and response bodies of the gateway's auth API and its MCP resource metadata."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from shared.scopes import SCOPE_ORDER, ScopeName

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


# No control characters (tabs and line breaks included): a name is one line people read.
TokenName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")
]
Scopes = Annotated[
    list[ScopeName],
    msgspec.Meta(
        min_length=1,
        max_length=len(SCOPE_ORDER),
        description="What the token may do; all of them when left out",
    ),
]
ExpiresInDays = Annotated[int, msgspec.Meta(ge=1, le=365)]


class PersonalTokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: TokenName
    scopes: Scopes = msgspec.field(default_factory=lambda: list(SCOPE_ORDER))
    # None: the token never expires (it can always be revoked).
    expires_in_days: ExpiresInDays | None = None


class PersonalTokenOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class PersonalTokenCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    token: Annotated[str, msgspec.Meta(description="The token itself, shown this once only")]


class PersonalTokenList(msgspec.Struct):
    items: list[PersonalTokenOut]


class ProtectedResourceMetadata(msgspec.Struct):
    """RFC 9728's protected resource metadata of the MCP endpoint."""

    resource: str
    bearer_methods_supported: list[str]
    scopes_supported: list[str]
    resource_name: str
    resource_documentation: str
