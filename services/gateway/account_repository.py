"""SQL for accounts and refresh tokens (schema `auth`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import RefreshToken, User


async def find_user_by_email(session: AsyncSession, email_key: str) -> User | None:
    return await session.scalar(select(User).where(User.email_key == email_key))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def find_refresh_token_for_update(
    session: AsyncSession, token_hash: str
) -> RefreshToken | None:
    # Row lock: two concurrent refreshes of one token cannot both succeed.
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(stmt)


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
