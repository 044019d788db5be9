"""Alembic environment of the todos service (schema ``todos``)."""

from services.todos.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
