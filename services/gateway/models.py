"""Tables of the gateway's `auth` schema: accounts, refresh-token families, personal tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("auth")
    type_annotation_map = TYPE_ANNOTATION_MAP


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased email: the unique key, so emails compare case-insensitively.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RefreshToken(Base):
    """One issued refresh token. Tokens rotated from one login share a ``family_id``."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    # SHA-256 of the opaque token: a database leak does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PersonalToken(Base):
    """A personal access token (docs/design.md §2): long-lived, limited to its scopes,
    revoked by its owner. Revoked rows stay (``revoked_at``) so that a revoked token is
    told apart from one that never existed in the logs."""

    __tablename__ = "personal_tokens"
    __table_args__ = (Index("ix_personal_tokens_user", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token: it has 256 random bits, so a fast hash is enough (no bcrypt).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, shown so that people recognise their tokens.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
