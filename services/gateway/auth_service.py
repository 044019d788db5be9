"""Accounts and sessions: register, login, refresh-token rotation, logout.

Refresh tokens are opaque random strings; only their SHA-256 is stored. Each login starts a
family; every refresh marks the presented token used and issues the next one of the same
family. Presenting a token that was already used means it was stolen (or replayed), so the
whole family is revoked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import account_repository as accounts
from services.gateway.models import RefreshToken, User
from services.gateway.rate_limits import RateLimits
from services.gateway.schemas import LoginIn, RegisterIn, TokenPair, UserOut
from shared.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    NotFound,
    ReusedRefreshToken,
    ValidationFailed,
)
from shared.passwords import check_password, hash_password, password_length_ok
from shared.tokens import TokenIssuer

logger = logging.getLogger("gateway.auth")


def email_key(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def to_user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, created_at=user.created_at)


async def register(session: AsyncSession, data: RegisterIn) -> UserOut:
    if not password_length_ok(data.password):
        raise ValidationFailed(
            "Password must be 8 to 72 bytes long",
            details={"fields": [{"key": "password", "message": "must be 8 to 72 bytes"}]},
        )
    user = User(
        email=data.email.strip(),
        email_key=email_key(data.email),
        name=data.name,
        password_hash=await hash_password(data.password),
    )
    session.add(user)
    try:
        await session.flush()  # the unique email index answers here, not at the commit
    except IntegrityError as exc:
        raise EmailTaken() from exc
    logger.info("user registered", extra={"user_id": str(user.id)})
    return to_user_out(user)


async def login(
    session: AsyncSession,
    data: LoginIn,
    *,
    issuer: TokenIssuer,
    limits: RateLimits,
    refresh_ttl: int,
) -> TokenPair:
    key = email_key(data.email)
    await limits.count_login_attempt(key)
    user = await accounts.find_user_by_email(session, key)
    # One bcrypt check whether or not the user exists: same answer, same time.
    if not await check_password(data.password, user.password_hash if user else None):
        raise InvalidCredentials()
    assert user is not None
    await limits.clear_login_attempts(key)
    pair = _new_pair(session, user.id, uuid.uuid4(), issuer=issuer, refresh_ttl=refresh_ttl)
    return pair


async def refresh(
    session: AsyncSession, refresh_token: str, *, issuer: TokenIssuer, refresh_ttl: int
) -> TokenPair:
    now = datetime.now(UTC)
    stored = await accounts.find_refresh_token_locking_family(session, hash_token(refresh_token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidRefreshToken()
    if stored.used_at is not None:
        await accounts.revoke_family(session, stored.family_id, now)
        logger.warning(
            "refresh token reused; family revoked",
            extra={"user_id": str(stored.user_id), "family_id": str(stored.family_id)},
        )
        raise ReusedRefreshToken()
    stored.used_at = now
    pair = _new_pair(
        session, stored.user_id, stored.family_id, issuer=issuer, refresh_ttl=refresh_ttl
    )
    return pair


async def logout(session: AsyncSession, user_id: str, refresh_token: str) -> None:
    """Revoke the family of ``refresh_token`` if it is the caller's; silent otherwise."""
    stored = await accounts.find_refresh_token_locking_family(session, hash_token(refresh_token))
    if stored is not None and str(stored.user_id) == user_id:
        await accounts.revoke_family(session, stored.family_id, datetime.now(UTC))


async def me(session: AsyncSession, user_id: str) -> UserOut:
    user = await accounts.get_user(session, uuid.UUID(user_id))
    if user is None:
        raise NotFound("User not found")
    return to_user_out(user)


def _new_pair(
    session: AsyncSession,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    *,
    issuer: TokenIssuer,
    refresh_ttl: int,
) -> TokenPair:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=hash_token(token),
            expires_at=datetime.now(UTC) + timedelta(seconds=refresh_ttl),
        )
    )
    return TokenPair(
        access_token=issuer.issue(str(user_id)),
        refresh_token=token,
        expires_in=issuer.ttl_seconds,
        refresh_expires_in=refresh_ttl,
    )
