"""SQL for accounts and refresh tokens (schema `auth`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import RefreshToken, User


async def find_user_by_email(session: AsyncSession, email_key: str) -> User | None:
    return await session.scalar(select(User).where(User.email_key == email_key))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def find_refresh_token_locking_family(
    session: AsyncSession, token_hash: str
) -> RefreshToken | None:
    """The stored token, read after taking its family's lock (held until commit).

    Every rotation and revocation of a family runs under that lock, one at a time: a
    rotation cannot add a token to a family while it is being revoked (and so escape the
    revocation), and two refreshes of one token cannot both succeed.
    """
    stmt = select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
    family_id = await session.scalar(stmt)
    if family_id is None:
        return None
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(family_id), 0)))
    )
    fresh = (
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .execution_options(populate_existing=True)
    )
    return await session.scalar(fresh)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
