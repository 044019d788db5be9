"""Alembic environment of the chat service (schema ``chat``)."""

from services.chat.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
