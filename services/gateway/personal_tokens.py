"""Personal access tokens: what one looks like, and creating, listing and revoking them
(docs/design.md §2).

A token is ``tdp_`` and 43 URL-safe characters (256 random bits): the prefix lets people
and secret scanners recognise it. Only its SHA-256 is stored (a token this random needs
no slow hash) with its first :data:`DISPLAY_CHARS` characters, shown so that people can
tell their tokens apart; the token itself is answered once, at creation.

Managing tokens takes a login's access token: a personal token (or the access token the
gateway minted for one) cannot make, list or revoke tokens, so a leaked token cannot
make itself a successor.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import personal_token_repository as repository
from services.gateway.models import PersonalToken
from services.gateway.schemas import (
    PersonalTokenCreated,
    PersonalTokenIn,
    PersonalTokenList,
    PersonalTokenOut,
)
from shared.errors import AppError, NotFound, Unauthorized, invalid
from shared.scopes import ALL_SCOPES, ordered
from shared.tokens import AccessClaims

logger = logging.getLogger("gateway.personal_tokens")

TOKEN_PREFIX = "tdp_"  # noqa: S105 - the marker of the format, not a secret
_RANDOM_BYTES = 32  # 43 characters of URL-safe base64
_FORMAT = re.compile(r"^tdp_[A-Za-z0-9_-]{43}$")
DISPLAY_CHARS = 12  # "tdp_" and 8 characters of the random part
MAX_TOKENS_PER_USER = 50


class LoginTokenRequired(AppError):
    status_code, code = 403, "LOGIN_TOKEN_REQUIRED"
    message = (
        "Personal access tokens are managed with a login's access token, "
        "not with a personal access token"
    )


class TokenLimitReached(AppError):
    status_code, code = 409, "TOKEN_LIMIT_REACHED"
    message = f"At most {MAX_TOKENS_PER_USER} personal access tokens per user; revoke one first"


def is_personal_token(token: str) -> bool:
    """Whether a bearer token is meant as a personal token (rather than a JWT)."""
    return token.startswith(TOKEN_PREFIX)


def well_formed(token: str) -> bool:
    return _FORMAT.match(token) is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def require_login_token(claims: AccessClaims) -> uuid.UUID:
    """The caller, when ``claims`` are a login's (every scope, no personal token)."""
    if claims.personal_token_id is not None or claims.scopes != ALL_SCOPES:
        raise LoginTokenRequired()
    return uuid.UUID(claims.user_id)


def _checked_name(name: str) -> str:
    # The schema refuses control characters but its `$` lets a final line break through;
    # format characters (zero-width, direction marks) and blank names are no better.
    if not name.isprintable() or not name.strip():
        raise invalid("name", "must be 1 to 100 visible characters", source="body")
    return name


def _out(token: PersonalToken) -> PersonalTokenOut:
    return PersonalTokenOut(
        id=token.id,
        name=token.name,
        scopes=ordered(set(token.scopes)),
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
    )


async def create(
    session: AsyncSession, claims: AccessClaims, data: PersonalTokenIn
) -> PersonalTokenCreated:
    user_id = require_login_token(claims)
    name = _checked_name(data.name)
    if not await repository.lock_owner(session, user_id):
        raise Unauthorized("The token's user no longer exists")
    if await repository.count_kept(session, user_id) >= MAX_TOKENS_PER_USER:
        raise TokenLimitReached()
    now = datetime.now(UTC)
    token = new_token()
    expires_at = (
        None if data.expires_in_days is None else now + timedelta(days=data.expires_in_days)
    )
    stored = PersonalToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash(token),
        prefix=token[:DISPLAY_CHARS],
        scopes=ordered(set(data.scopes)),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(stored)
    await session.flush()
    logger.info(
        "personal token created",
        extra={"user_id": str(user_id), "personal_token_id": str(stored.id)},
    )
    return PersonalTokenCreated(
        id=stored.id,
        name=stored.name,
        scopes=stored.scopes,
        prefix=stored.prefix,
        created_at=now,
        expires_at=expires_at,
        token=token,
    )


async def list_mine(session: AsyncSession, claims: AccessClaims) -> PersonalTokenList:
    user_id = require_login_token(claims)
    return PersonalTokenList(items=[_out(t) for t in await repository.list_kept(session, user_id)])


async def revoke(session: AsyncSession, claims: AccessClaims, token_id: str) -> str:
    """Revoke one of the caller's tokens; its hash. Another user's, an unknown or a
    malformed id: 404, alike."""
    user_id = require_login_token(claims)
    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        raise NotFound("Personal access token not found") from None
    digest = await repository.revoke(session, user_id, parsed, datetime.now(UTC))
    if digest is None:
        raise NotFound("Personal access token not found")
    logger.info(
        "personal token revoked", extra={"user_id": str(user_id), "personal_token_id": token_id}
    )
    return digest
