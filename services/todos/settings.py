"""Settings of the todos service (environment variables; see the README)."""

from __future__ import annotations

from shared.settings import CommonSettings


class TodosSettings(CommonSettings, kw_only=True):
    service_name: str = "todos"
