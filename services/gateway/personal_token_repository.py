"""SQL for personal access tokens (table `auth.personal_tokens`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import PersonalToken, User


async def lock_owner(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Lock the user's row until commit (False: no such user). Token creations of one user
    then run one at a time, so that two cannot both pass the per-user limit."""
    stmt = select(User.id).where(User.id == user_id).with_for_update()
    return await session.scalar(stmt) is not None


async def count_kept(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The user's tokens that are not revoked (expired ones included: they are listed)."""
    stmt = (
        select(func.count())
        .select_from(PersonalToken)
        .where(PersonalToken.user_id == user_id, PersonalToken.revoked_at.is_(None))
    )
    return int(await session.scalar(stmt) or 0)


async def list_kept(session: AsyncSession, user_id: uuid.UUID) -> list[PersonalToken]:
    stmt = (
        select(PersonalToken)
        .where(PersonalToken.user_id == user_id, PersonalToken.revoked_at.is_(None))
        .order_by(PersonalToken.created_at.desc(), PersonalToken.id.desc())
    )
    return list(await session.scalars(stmt))


async def revoke(
    session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID, now: datetime
) -> str | None:
    """Revoke the user's token ``token_id``; its hash, or None when the user has no such
    token (or it was revoked already)."""
    stmt = (
        update(PersonalToken)
        .where(
            PersonalToken.id == token_id,
            PersonalToken.user_id == user_id,
            PersonalToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(PersonalToken.token_hash)
    )
    result: str | None = await session.scalar(stmt)
    return result


# -- the gateway's hot path: bare asyncpg (DatabasePlugin.readers) ---------------------------


async def find_by_hash(connection: asyncpg.Connection, token_hash: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT id, user_id, scopes, expires_at, revoked_at"
        " FROM auth.personal_tokens WHERE token_hash = $1",
        token_hash,
    )


async def mark_used(connection: asyncpg.Connection, token_id: uuid.UUID, interval: float) -> None:
    """Record a use, unless one was recorded less than ``interval`` seconds ago (by any
    gateway replica): at most one write per token per interval."""
    await connection.execute(
        "UPDATE auth.personal_tokens SET last_used_at = now()"
        " WHERE id = $1 AND (last_used_at IS NULL"
        " OR last_used_at < now() - make_interval(secs => $2))",
        token_id,
        interval,
    )
