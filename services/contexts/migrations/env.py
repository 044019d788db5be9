"""Alembic environment of the contexts service (schema ``contexts``)."""

from services.contexts.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
